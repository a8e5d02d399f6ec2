# The origin: kefu-lambda (the same router as kefu serve) behind a function URL, in a VPC of its
# own with its MySQL database; it reaches the edge through a NAT gateway.

locals {
  origin_name = "kefu-origin"
  database_url = format(
    "mysql://%s:%s@%s:%d/%s?ssl-mode=required",
    aws_db_instance.kefu.username,
    random_password.database.result,
    aws_db_instance.kefu.address,
    aws_db_instance.kefu.port,
    aws_db_instance.kefu.db_name,
  )
}

data "aws_availability_zones" "available" {
  state = "available"
}

# One key for what the origin keeps secret: its environment, the database and the secret below.
resource "aws_kms_key" "kefu" {
  description             = "Kefu: the origin's environment, its database and its secrets"
  enable_key_rotation     = true
  deletion_window_in_days = 30
}

resource "aws_kms_alias" "kefu" {
  name          = "alias/kefu"
  target_key_id = aws_kms_key.kefu.key_id
}

# ---- network: two private subnets (origin and database), one public subnet for the NAT gateway

resource "aws_vpc" "kefu" {
  cidr_block           = var.vpc_cidr
  enable_dns_support   = true
  enable_dns_hostnames = true

  tags = {
    Name = "kefu"
  }
}

resource "aws_subnet" "private" {
  count             = 2
  vpc_id            = aws_vpc.kefu.id
  cidr_block        = cidrsubnet(var.vpc_cidr, 4, count.index)
  availability_zone = data.aws_availability_zones.available.names[count.index]

  tags = {
    Name = "kefu-private-${count.index}"
  }
}

resource "aws_subnet" "public" {
  vpc_id            = aws_vpc.kefu.id
  cidr_block        = cidrsubnet(var.vpc_cidr, 4, 8)
  availability_zone = data.aws_availability_zones.available.names[0]

  tags = {
    Name = "kefu-public"
  }
}

resource "aws_internet_gateway" "kefu" {
  vpc_id = aws_vpc.kefu.id
}

resource "aws_eip" "nat" {
  domain = "vpc"
}

resource "aws_nat_gateway" "kefu" {
  allocation_id = aws_eip.nat.id
  subnet_id     = aws_subnet.public.id

  depends_on = [aws_internet_gateway.kefu]
}

resource "aws_route_table" "public" {
  vpc_id = aws_vpc.kefu.id

  route {
    cidr_block = "0.0.0.0/0"
    gateway_id = aws_internet_gateway.kefu.id
  }
}

resource "aws_route_table_association" "public" {
  subnet_id      = aws_subnet.public.id
  route_table_id = aws_route_table.public.id
}

resource "aws_route_table" "private" {
  vpc_id = aws_vpc.kefu.id

  route {
    cidr_block     = "0.0.0.0/0"
    nat_gateway_id = aws_nat_gateway.kefu.id
  }
}

resource "aws_route_table_association" "private" {
  count          = 2
  subnet_id      = aws_subnet.private[count.index].id
  route_table_id = aws_route_table.private.id
}

resource "aws_security_group" "origin" {
  name        = "kefu-origin"
  description = "The origin (Lambda): out to its database and to the edge over HTTPS"
  vpc_id      = aws_vpc.kefu.id
}

resource "aws_vpc_security_group_egress_rule" "origin_to_database" {
  security_group_id            = aws_security_group.origin.id
  description                  = "MySQL"
  ip_protocol                  = "tcp"
  from_port                    = 3306
  to_port                      = 3306
  referenced_security_group_id = aws_security_group.database.id
}

resource "aws_vpc_security_group_egress_rule" "origin_to_edge" {
  security_group_id = aws_security_group.origin.id
  description       = "HTTPS to the edge (change notices to the Worker)"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_security_group" "database" {
  name        = "kefu-database"
  description = "The database: MySQL from the origin only"
  vpc_id      = aws_vpc.kefu.id
}

resource "aws_vpc_security_group_ingress_rule" "database_from_origin" {
  security_group_id            = aws_security_group.database.id
  description                  = "MySQL from the origin"
  ip_protocol                  = "tcp"
  from_port                    = 3306
  to_port                      = 3306
  referenced_security_group_id = aws_security_group.origin.id
}

# ---- the database

resource "random_password" "database" {
  length  = 40
  special = false
}

resource "aws_db_subnet_group" "kefu" {
  name       = "kefu"
  subnet_ids = aws_subnet.private[*].id
}

resource "aws_db_parameter_group" "kefu" {
  name   = "kefu-mysql84"
  family = "mysql8.4"

  parameter {
    name  = "require_secure_transport"
    value = "1"
  }
}

resource "aws_db_instance" "kefu" {
  identifier     = "kefu"
  engine         = "mysql"
  engine_version = "8.4"
  instance_class = var.database_instance_class

  allocated_storage     = var.database_storage_gb
  max_allocated_storage = var.database_max_storage_gb
  storage_type          = "gp3"
  storage_encrypted     = true
  kms_key_id            = aws_kms_key.kefu.arn

  db_name  = "kefu"
  username = "kefu"
  password = random_password.database.result

  db_subnet_group_name   = aws_db_subnet_group.kefu.name
  vpc_security_group_ids = [aws_security_group.database.id]
  parameter_group_name   = aws_db_parameter_group.kefu.name
  publicly_accessible    = false
  multi_az               = var.database_multi_az

  backup_retention_period    = var.database_backup_days
  copy_tags_to_snapshot      = true
  auto_minor_version_upgrade = true
  deletion_protection        = var.deletion_protection
  skip_final_snapshot        = false
  final_snapshot_identifier  = "kefu-final"
}

# ---- the origin's secrets: generated here, kept in Secrets Manager for the person who runs it
# (kefu migrate, kefu tenant create, … from a machine in the VPC), given to the function below.

# The origin signs agents' access tokens with this 32-byte Ed25519 seed; the rooms verify them.
resource "random_bytes" "signing_key" {
  length = 32
}

resource "aws_secretsmanager_secret" "origin" {
  name                    = "kefu/origin"
  description             = "Kefu's origin: database URL, edge secret and token signing key"
  kms_key_id              = aws_kms_key.kefu.arn
  recovery_window_in_days = 7
}

resource "aws_secretsmanager_secret_version" "origin" {
  secret_id = aws_secretsmanager_secret.origin.id
  secret_string = jsonencode({
    KEFU_DATABASE_URL = local.database_url
    KEFU_EDGE_SECRET  = random_password.edge_secret.result
    KEFU_SIGNING_KEY  = random_bytes.signing_key.base64
  })
}

# ---- the function, its role (its own logs, its network interfaces, its key) and its URL

data "aws_iam_policy_document" "origin_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "origin" {
  name               = local.origin_name
  assume_role_policy = data.aws_iam_policy_document.origin_assume.json
}

data "aws_iam_policy_document" "origin" {
  statement {
    sid       = "OwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.origin.arn}:*"]
  }

  # What Lambda needs to place the function in the VPC (these actions take no narrower resource).
  statement {
    sid = "VpcNetworkInterfaces"
    actions = [
      "ec2:CreateNetworkInterface",
      "ec2:DescribeNetworkInterfaces",
      "ec2:DescribeSubnets",
      "ec2:DeleteNetworkInterface",
      "ec2:AssignPrivateIpAddresses",
      "ec2:UnassignPrivateIpAddresses",
    ]
    resources = ["*"]
  }

  statement {
    sid       = "DecryptEnvironment"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.kefu.arn]
  }
}

resource "aws_iam_role_policy" "origin" {
  name   = local.origin_name
  role   = aws_iam_role.origin.id
  policy = data.aws_iam_policy_document.origin.json
}

resource "aws_cloudwatch_log_group" "origin" {
  name              = "/aws/lambda/${local.origin_name}"
  retention_in_days = var.log_retention_days
}

resource "aws_lambda_function" "origin" {
  function_name    = local.origin_name
  description      = "Kefu's origin (kefu-lambda): REST API and records"
  role             = aws_iam_role.origin.arn
  runtime          = "provided.al2023"
  handler          = "bootstrap"
  architectures    = [var.origin_architecture]
  filename         = var.origin_zip
  source_code_hash = filebase64sha256(var.origin_zip)
  memory_size      = var.origin_memory_mb
  timeout          = 30
  kms_key_arn      = aws_kms_key.kefu.arn

  vpc_config {
    subnet_ids         = aws_subnet.private[*].id
    security_group_ids = [aws_security_group.origin.id]
  }

  environment {
    variables = {
      KEFU_DATABASE_URL     = local.database_url
      KEFU_EDGE_SECRET      = random_password.edge_secret.result
      KEFU_EDGE_URL         = "https://${var.edge_hostname}"
      KEFU_EDGE_VISITOR_KEY = tls_private_key.room.public_key_pem
      KEFU_SIGNING_KEY      = random_bytes.signing_key.base64
    }
  }

  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.origin.name
  }

  depends_on = [aws_iam_role_policy.origin]
}

resource "aws_lambda_function_url" "origin" {
  function_name      = aws_lambda_function.origin.function_name
  authorization_type = "NONE"
}

# Anyone may call the URL (the API checks its own tokens; /internal/v1/… checks the edge's signature).
resource "aws_lambda_permission" "origin_url" {
  statement_id           = "FunctionUrlPublic"
  action                 = "lambda:InvokeFunctionUrl"
  function_name          = aws_lambda_function.origin.function_name
  principal              = "*"
  function_url_auth_type = "NONE"
}

resource "aws_lambda_permission" "origin_url_invoke" {
  statement_id             = "FunctionUrlInvoke"
  action                   = "lambda:InvokeFunction"
  function_name            = aws_lambda_function.origin.function_name
  principal                = "*"
  invoked_via_function_url = true
}
