//! The `--s3-*` options shared by the commands that read or write the object store.

use clap::Args;
use resi_store::S3Config;

/// S3 options (selected by `--s3-bucket`).
#[derive(Debug, Clone, Args)]
pub struct S3Args {
    /// S3 endpoint URL (omit for AWS; e.g. http://127.0.0.1:5000 for moto or MinIO).
    #[arg(long, requires = "s3_bucket")]
    pub s3_endpoint: Option<String>,
    /// S3 bucket (selects the S3 store).
    #[arg(long)]
    pub s3_bucket: Option<String>,
    /// S3 region.
    #[arg(long, default_value = "us-east-1")]
    pub s3_region: String,
    /// S3 access key id.
    #[arg(long, env = "AWS_ACCESS_KEY_ID", default_value = "")]
    pub s3_access_key: String,
    /// S3 secret access key.
    #[arg(
        long,
        env = "AWS_SECRET_ACCESS_KEY",
        default_value = "",
        hide_env_values = true
    )]
    pub s3_secret_key: String,
    /// Path-style S3 URLs (moto, MinIO); default virtual-hosted style.
    #[arg(long)]
    pub s3_path_style: bool,
}

impl S3Args {
    /// The S3 configuration, when `--s3-bucket` is given.
    pub fn config(&self) -> Option<S3Config> {
        self.s3_bucket.as_ref().map(|bucket| S3Config {
            endpoint: self.s3_endpoint.clone(),
            bucket: bucket.clone(),
            region: self.s3_region.clone(),
            access_key_id: self.s3_access_key.clone(),
            secret_access_key: self.s3_secret_key.clone(),
            path_style: self.s3_path_style,
        })
    }
}
