# Kefu's SaaS shape in code: the edge on Cloudflare (cloudflare.tf) and the origin on AWS (aws.tf).
# Names match wrangler.toml and the kefu-lambda binary; terraform/terraform.test.mjs checks that.

terraform {
  required_version = ">= 1.6"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.25"
    }
    cloudflare = {
      source  = "cloudflare/cloudflare"
      version = "~> 5.16"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.7"
    }
    tls = {
      source  = "hashicorp/tls"
      version = "~> 4.1"
    }
  }
}

provider "aws" {
  region = var.aws_region

  default_tags {
    tags = {
      application = "kefu"
    }
  }
}

# The API token comes from CLOUDFLARE_API_TOKEN: Workers Scripts, Workers R2 Storage and Workers
# Routes (edit) on the account, DNS (edit) on the zone.
provider "cloudflare" {}
