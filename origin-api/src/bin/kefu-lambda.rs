//! `kefu-lambda`: the origin API as an AWS Lambda function (see `origin_api::lambda`). It takes
//! its settings from the environment, as `kefu serve` does (`KEFU_DATABASE_URL`,
//! `KEFU_SIGNING_KEY`, `KEFU_EDGE_SECRET`, …), and logs lines without times (CloudWatch adds them).

use clap::Parser;
use origin_api::config::{Config, ConfigArgs};

/// The settings, from the environment only.
#[derive(Parser)]
struct Lambda {
    #[command(flatten)]
    config: ConfigArgs,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,sqlx=warn".into());
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).without_time().init();
    let args = Lambda::parse_from(["kefu-lambda"]);
    origin_api::lambda::run(Config::load(&args.config)?).await
}
