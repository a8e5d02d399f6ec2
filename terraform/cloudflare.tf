# The edge: one Worker script (edge-router with the room objects of room-objects), a Durable Object
# per site holding its live room (SQLite storage), and an R2 bucket for files sent in chats.

locals {
  # As in wrangler.toml.
  worker_name        = "kefu-edge"
  compatibility_date = "2026-04-26"
  room_class         = "SiteRoomObject"
  files_bucket       = "kefu-files"
}

resource "cloudflare_r2_bucket" "files" {
  account_id = var.cloudflare_account_id
  name       = local.files_bucket
  location   = var.r2_location
}

resource "cloudflare_worker" "edge" {
  account_id = var.cloudflare_account_id
  name       = local.worker_name

  observability = {
    enabled = true
  }
}

# The keys the rooms sign visitor tokens with (the origin gets the public half).
resource "tls_private_key" "room" {
  algorithm = "ED25519"
}

# Signs every request between the edge and the origin.
resource "random_password" "edge_secret" {
  length  = 48
  special = false
}

resource "cloudflare_worker_version" "edge" {
  account_id         = var.cloudflare_account_id
  worker_id          = cloudflare_worker.edge.id
  compatibility_date = local.compatibility_date
  main_module        = "index.js"

  # What scripts/build-edge.sh writes: the module (wrangler.toml's shim.mjs re-exports it) and the
  # WebAssembly it imports.
  modules = [
    {
      name         = "index.js"
      content_type = "application/javascript+module"
      content_file = "${var.edge_build_dir}/index.js"
    },
    {
      name         = "index_bg.wasm"
      content_type = "application/wasm"
      content_file = "${var.edge_build_dir}/index_bg.wasm"
    },
  ]

  bindings = [
    {
      type       = "durable_object_namespace"
      name       = "ROOMS"
      class_name = local.room_class
    },
    {
      type        = "r2_bucket"
      name        = "FILES"
      bucket_name = cloudflare_r2_bucket.files.name
    },
    {
      type         = "ratelimit"
      name         = "NEW_SOCKETS"
      namespace_id = "1001"
      simple = {
        limit  = 100
        period = 10
      }
    },
    {
      type         = "ratelimit"
      name         = "REQUESTS"
      namespace_id = "1002"
      simple = {
        limit  = 300
        period = 10
      }
    },
    {
      type = "plain_text"
      name = "ORIGIN_URL"
      text = trimsuffix(aws_lambda_function_url.origin.function_url, "/")
    },
    {
      type = "secret_text"
      name = "EDGE_SECRET"
      text = random_password.edge_secret.result
    },
    {
      type = "secret_text"
      name = "ROOM_SIGNING_KEY"
      text = tls_private_key.room.private_key_pem
    },
  ]

  # The room class, with SQLite storage. A later migration adds a step with new_tag = "v2" and
  # old_tag = "v1"; never delete or rename the class: its storage holds the rooms.
  migrations = {
    new_tag            = "v1"
    new_sqlite_classes = [local.room_class]
  }
}

resource "cloudflare_workers_deployment" "edge" {
  account_id  = var.cloudflare_account_id
  script_name = cloudflare_worker.edge.name
  strategy    = "percentage"

  versions = [
    {
      version_id = cloudflare_worker_version.edge.id
      percentage = 100
    },
  ]
}

# The Worker answers on edge_hostname (Cloudflare makes the DNS record and the certificate).
resource "cloudflare_workers_custom_domain" "edge" {
  account_id = var.cloudflare_account_id
  zone_id    = var.cloudflare_zone_id
  hostname   = var.edge_hostname
  service    = cloudflare_worker.edge.name

  depends_on = [cloudflare_workers_deployment.edge]
}
