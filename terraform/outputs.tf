output "edge_url" {
  description = "Where visitors and agents reach Kefu: sites embed <script async src=\"<edge_url>/embed.js\" data-site=\"k_…\"></script>, agents open <edge_url>/console/."
  value       = "https://${var.edge_hostname}"
}

output "embed_snippet" {
  description = "The snippet a site pastes, with its own site key in data-site."
  value       = "<script async src=\"https://${var.edge_hostname}/embed.js\" data-site=\"SITE_KEY\"></script>"
}

output "origin_url" {
  description = "The origin's function URL (the Worker's ORIGIN_URL). GET <origin_url>/healthz answers once it reaches its database."
  value       = aws_lambda_function_url.origin.function_url
}

output "origin_function" {
  description = "The Lambda function's name, for its logs and for new code (aws lambda update-function-code)."
  value       = aws_lambda_function.origin.function_name
}

output "database_endpoint" {
  description = "The MySQL database's address (host:port), reachable from inside the VPC only."
  value       = aws_db_instance.kefu.endpoint
}

output "secret_arn" {
  description = "The Secrets Manager secret with KEFU_DATABASE_URL, KEFU_EDGE_SECRET and KEFU_SIGNING_KEY, for the kefu admin commands."
  value       = aws_secretsmanager_secret.origin.arn
}

output "worker_name" {
  description = "The Worker's script name (as in wrangler.toml), for wrangler tail and rollbacks."
  value       = cloudflare_worker.edge.name
}

output "files_bucket" {
  description = "The R2 bucket the files sent in chats are kept in."
  value       = cloudflare_r2_bucket.files.name
}
