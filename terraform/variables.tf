variable "aws_region" {
  description = "The AWS region of the origin (Lambda) and its database."
  type        = string
  default     = "us-east-1"
}

variable "cloudflare_account_id" {
  description = "The Cloudflare account the Worker, its Durable Objects and the R2 bucket belong to."
  type        = string
}

variable "cloudflare_zone_id" {
  description = "The Cloudflare zone (domain) that edge_hostname belongs to."
  type        = string
}

variable "edge_hostname" {
  description = "Where visitors and agents reach Kefu, e.g. chat.example.com: sites embed https://<edge_hostname>/embed.js and agents open https://<edge_hostname>/console/."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$", var.edge_hostname))
    error_message = "edge_hostname is a host name only, such as chat.example.com (no scheme, no path)."
  }
}

variable "edge_build_dir" {
  description = "Where scripts/build-edge.sh writes the Worker's script (index.js and index_bg.wasm)."
  type        = string
  default     = "../edge-router/build"
}

variable "r2_location" {
  description = "Where the R2 bucket of files sent in chats is kept: apac, eeur, enam, weur or wnam."
  type        = string
  default     = "enam"
}

variable "origin_zip" {
  description = "A zip holding the kefu-lambda binary named bootstrap (docs/deploy.md says how to build it)."
  type        = string
  default     = "../target/lambda/kefu-lambda.zip"
}

variable "origin_architecture" {
  description = "The instruction set kefu-lambda was built for: x86_64 or arm64."
  type        = string
  default     = "x86_64"

  validation {
    condition     = contains(["x86_64", "arm64"], var.origin_architecture)
    error_message = "origin_architecture is x86_64 or arm64."
  }
}

variable "origin_memory_mb" {
  description = "Memory of each origin instance, in MB (Lambda gives CPU in proportion)."
  type        = number
  default     = 512
}

variable "log_retention_days" {
  description = "How long the origin's logs are kept."
  type        = number
  default     = 30
}

variable "vpc_cidr" {
  description = "The address range of the VPC made for the origin and its database."
  type        = string
  default     = "10.40.0.0/16"
}

variable "database_instance_class" {
  description = "The RDS instance class of the MySQL database."
  type        = string
  default     = "db.t4g.small"
}

variable "database_storage_gb" {
  description = "The database's storage at first, in GB; it grows by itself up to database_max_storage_gb."
  type        = number
  default     = 20
}

variable "database_max_storage_gb" {
  description = "The most storage the database grows to by itself, in GB."
  type        = number
  default     = 200
}

variable "database_multi_az" {
  description = "Keep a standby of the database in a second availability zone (failover within a minute or two; doubles its cost)."
  type        = bool
  default     = false
}

variable "database_backup_days" {
  description = "Days of automated database backups (point-in-time recovery within them)."
  type        = number
  default     = 7
}

variable "deletion_protection" {
  description = "Refuse to delete the database (set false, apply, then destroy, to take everything down)."
  type        = bool
  default     = true
}
