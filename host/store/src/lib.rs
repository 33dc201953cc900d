//! Object storage for resi: one [`Store`] type over a local directory (the devnet default) or
//! any S3-compatible endpoint (AWS, moto, MinIO, ...).
//!
//! Who uses it:
//! - the coordinator issues upload **grants**: [`Store::presigned_post`] gives a browser-style
//!   POST policy limited to a key prefix and a length range (a real SigV4 policy for S3, the same
//!   document HMAC-signed with the store's own secret for a local directory, verified by the
//!   coordinator's upload endpoint through [`Store::begin_local_upload`], which also caps the
//!   objects one grant writes, [`Store::with_objects_per_grant`]); S3 also offers per-key
//!   presigned URLs ([`Store::presigned_url`], [`Store::presigned_list_url`]);
//! - miners upload through those grants (`resi_client::ApiClient::upload_presigned`);
//! - validators [`Store::list`] every miner's submissions with the store's own Last-Modified
//!   (which a miner cannot forge), [`Store::get`] objects with a size cap, and [`Store::put`]
//!   their reports.
//!
//! Modules: [`policy`] (POST policies: build, sign, verify) and [`sigv4`] (AWS SigV4 primitives).

#![warn(missing_docs)]

pub mod policy;
pub mod sigv4;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::TryStreamExt as _;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjPath;
use object_store::{ObjectStore, ObjectStoreExt as _, PutPayload};
use policy::{PolicyError, PolicySigner, VerifiedForm};
use resi_core::wire::{Expiry, PresignedPost};
use std::collections::BTreeMap;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::AsyncWriteExt as _;

/// Directory under a local root holding uploads in progress; never listed.
const LOCAL_TMP_DIR: &str = ".resi-upload-tmp";

/// Access key id, region and bucket names a local store signs its policies with.
const LOCAL_ACCESS_KEY: &str = "resi-local";
const LOCAL_REGION: &str = "local";
const LOCAL_BUCKET: &str = "local";

/// Objects one local grant may write unless [`Store::with_objects_per_grant`] says otherwise:
/// a day of 4-hour epochs of ~25 zipcodes x 2 files (300), plus retries.
pub const DEFAULT_OBJECTS_PER_GRANT: u32 = 400;

/// Grants tracked before expired ones are swept out of the table.
const GRANT_SWEEP_AT: usize = 1024;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The key is not a valid object key (empty segment, `..`, leading `/`, ...).
    #[error("invalid object key {key:?}: {reason}")]
    InvalidKey {
        /// The key as given.
        key: String,
        /// What is wrong with it.
        reason: String,
    },
    /// No object with this key.
    #[error("object {key:?} not found")]
    NotFound {
        /// The key.
        key: String,
    },
    /// The object is larger than the caller accepts.
    #[error("object {key:?} is {size} bytes, more than the {max} bytes accepted")]
    TooLarge {
        /// The key.
        key: String,
        /// Its size.
        size: u64,
        /// The cap.
        max: u64,
    },
    /// The backend failed.
    #[error("{op} {key:?} on {store} failed")]
    Backend {
        /// Operation (`list`, `get`, `put`, `head`).
        op: &'static str,
        /// Key or prefix.
        key: String,
        /// Store description.
        store: String,
        /// Underlying error.
        #[source]
        source: Box<object_store::Error>,
    },
    /// A local file operation failed.
    #[error("{op} {path}")]
    Io {
        /// What was attempted.
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The store cannot issue this kind of grant.
    #[error("{0}")]
    GrantUnavailable(String),
    /// An upload form failed its policy.
    #[error("upload refused")]
    Policy(#[from] PolicyError),
    /// The grant already wrote (or is writing) as many objects as one grant may.
    #[error("this grant already wrote its maximum of {max} objects; request a new grant")]
    GrantExhausted {
        /// Objects one grant may write.
        max: u32,
    },
    /// Invalid configuration.
    #[error("invalid store configuration: {0}")]
    Config(String),
}

/// An object in a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    /// Full key, e.g. `data/hotkey=5H.../epoch=.../zipcode=19103/manifest.json`.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// The store's own modification time (S3 `Last-Modified`, local file mtime).
    pub last_modified: DateTime<Utc>,
}

/// Connection settings of an S3-compatible store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Config {
    /// Endpoint URL, e.g. `http://127.0.0.1:5055`; `None` = AWS (`https://s3.{region}.amazonaws.com`).
    pub endpoint: Option<String>,
    /// Bucket name.
    pub bucket: String,
    /// Region, e.g. `us-east-1`.
    pub region: String,
    /// Access key id.
    pub access_key_id: String,
    /// Secret access key.
    pub secret_access_key: String,
    /// Path-style addressing (`{endpoint}/{bucket}/key`), needed by moto and MinIO; otherwise
    /// virtual-hosted style (`{bucket}.{host}/key`).
    pub path_style: bool,
}

impl S3Config {
    /// `(origin, path prefix)` of the bucket: `("http://127.0.0.1:5055", "/bucket")` for
    /// path style, `("https://bucket.s3.us-east-1.amazonaws.com", "")` for virtual-hosted style.
    fn bucket_origin(&self) -> (String, String) {
        let endpoint = self
            .endpoint
            .clone()
            .unwrap_or_else(|| format!("https://s3.{}.amazonaws.com", self.region));
        let endpoint = endpoint.trim_end_matches('/').to_owned();
        if self.path_style {
            return (endpoint, format!("/{}", sigv4::uri_encode(&self.bucket)));
        }
        match endpoint.split_once("://") {
            Some((scheme, host)) => (format!("{scheme}://{}.{host}", self.bucket), String::new()),
            None => (format!("https://{}.{endpoint}", self.bucket), String::new()),
        }
    }
}

/// The local store's grant settings: where its upload endpoint is and the secret it signs with.
#[derive(Clone)]
pub struct LocalGrants {
    /// URL of the upload endpoint that verifies the policy (the coordinator's
    /// `POST /local-store/upload`).
    pub upload_url: String,
    /// HMAC secret of the policies (keep it private: it is what confines each grant).
    pub secret: String,
}

impl std::fmt::Debug for LocalGrants {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalGrants")
            .field("upload_url", &self.upload_url)
            .field("secret", &"<redacted>")
            .finish()
    }
}

#[derive(Debug, Clone)]
enum Backend {
    Local {
        root: PathBuf,
        grants: Option<LocalGrants>,
    },
    S3(S3Config),
}

/// Objects written (or being written) through one local grant.
#[derive(Debug)]
struct GrantUse {
    objects: u32,
    /// The policy's expiration, unix seconds (the entry is useless after it).
    expires: i64,
}

#[derive(Debug)]
struct Inner {
    os: Arc<dyn ObjectStore>,
    backend: Backend,
    tmp_counter: AtomicU64,
    objects_per_grant: u32,
    /// Uses of each local grant, keyed by the policy's signature.
    grant_uses: Mutex<HashMap<String, GrantUse>>,
}

impl Inner {
    fn grant_uses(&self) -> std::sync::MutexGuard<'_, HashMap<String, GrantUse>> {
        // The map holds plain counters: a poisoned lock leaves nothing half-updated.
        self.grant_uses.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// One object slot of a grant, given back if the upload does not finish.
#[derive(Debug)]
struct GrantSlot {
    inner: Arc<Inner>,
    signature: String,
    used: bool,
}

impl Drop for GrantSlot {
    fn drop(&mut self) {
        if self.used {
            return;
        }
        if let Some(u) = self.inner.grant_uses().get_mut(&self.signature) {
            u.objects = u.objects.saturating_sub(1);
        }
    }
}

/// An object store: a local directory or an S3 bucket. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

/// Validates a key: relative, `/`-separated, no empty, `.` or `..` segments, no control chars.
pub fn check_key(key: &str) -> Result<(), StoreError> {
    let bad = |reason: &str| StoreError::InvalidKey {
        key: key.to_owned(),
        reason: reason.to_owned(),
    };
    if key.is_empty() {
        return Err(bad("empty"));
    }
    if key.len() > 1024 {
        return Err(bad("longer than 1024 bytes"));
    }
    if key.chars().any(|c| c.is_control() || c == '\\') {
        return Err(bad("contains a control character or backslash"));
    }
    for seg in key.split('/') {
        match seg {
            "" => return Err(bad("empty path segment (leading, trailing or doubled '/')")),
            "." | ".." => return Err(bad("'.' or '..' segment")),
            s if s.starts_with('.') => return Err(bad("segment starting with '.'")),
            _ => {}
        }
    }
    Ok(())
}

fn obj_path(key: &str) -> Result<ObjPath, StoreError> {
    check_key(key)?;
    ObjPath::parse(key).map_err(|e| StoreError::InvalidKey {
        key: key.to_owned(),
        reason: e.to_string(),
    })
}

impl Store {
    /// A store in the directory `root` (created if missing). It can list, read and write; to
    /// issue upload grants add [`Store::with_local_grants`].
    pub fn local(root: impl AsRef<Path>) -> Result<Self, StoreError> {
        let root = root.as_ref();
        let io = |op, source| StoreError::Io {
            op,
            path: root.to_owned(),
            source,
        };
        std::fs::create_dir_all(root).map_err(|e| io("creating store directory", e))?;
        let root = root
            .canonicalize()
            .map_err(|e| io("resolving store directory", e))?;
        let fs = LocalFileSystem::new_with_prefix(&root).map_err(|e| StoreError::Backend {
            op: "open",
            key: String::new(),
            store: root.display().to_string(),
            source: Box::new(e),
        })?;
        Ok(Self::from_parts(
            Arc::new(fs),
            Backend::Local { root, grants: None },
            DEFAULT_OBJECTS_PER_GRANT,
        ))
    }

    /// Lets a local store issue POST grants to be verified at `grants.upload_url`.
    /// Has no effect on an S3 store.
    pub fn with_local_grants(self, grants: LocalGrants) -> Self {
        match &self.inner.backend {
            Backend::Local { root, .. } => Self::from_parts(
                self.inner.os.clone(),
                Backend::Local {
                    root: root.clone(),
                    grants: Some(grants),
                },
                self.inner.objects_per_grant,
            ),
            Backend::S3(_) => self,
        }
    }

    /// Lets one local grant (one signed policy) write at most `max` objects (default
    /// [`DEFAULT_OBJECTS_PER_GRANT`]); uploads beyond fail with [`StoreError::GrantExhausted`].
    /// Counted in memory, per process. Has no effect on an S3 store.
    pub fn with_objects_per_grant(self, max: u32) -> Self {
        Self::from_parts(self.inner.os.clone(), self.inner.backend.clone(), max)
    }

    /// A store on an S3 bucket.
    pub fn s3(cfg: S3Config) -> Result<Self, StoreError> {
        if cfg.bucket.is_empty() || cfg.region.is_empty() {
            return Err(StoreError::Config(
                "S3 bucket and region must be set".into(),
            ));
        }
        let mut b = AmazonS3Builder::new()
            .with_bucket_name(&cfg.bucket)
            .with_region(&cfg.region)
            .with_access_key_id(&cfg.access_key_id)
            .with_secret_access_key(&cfg.secret_access_key)
            .with_virtual_hosted_style_request(!cfg.path_style);
        if let Some(ep) = &cfg.endpoint {
            b = b
                .with_endpoint(ep)
                .with_allow_http(ep.starts_with("http://"));
        }
        let os = b.build().map_err(|e| StoreError::Config(e.to_string()))?;
        Ok(Self::from_parts(
            Arc::new(os),
            Backend::S3(cfg),
            DEFAULT_OBJECTS_PER_GRANT,
        ))
    }

    fn from_parts(os: Arc<dyn ObjectStore>, backend: Backend, objects_per_grant: u32) -> Self {
        Self {
            inner: Arc::new(Inner {
                os,
                backend,
                tmp_counter: AtomicU64::new(0),
                objects_per_grant,
                grant_uses: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// A one-line description (`local:/path` or `s3://bucket at endpoint`).
    pub fn describe(&self) -> String {
        match &self.inner.backend {
            Backend::Local { root, .. } => format!("local:{}", root.display()),
            Backend::S3(c) => format!(
                "s3://{} at {}",
                c.bucket,
                c.endpoint.as_deref().unwrap_or("AWS")
            ),
        }
    }

    /// The root directory of a local store.
    pub fn local_root(&self) -> Option<&Path> {
        match &self.inner.backend {
            Backend::Local { root, .. } => Some(root),
            Backend::S3(_) => None,
        }
    }

    /// The S3 settings of an S3 store.
    pub fn s3_config(&self) -> Option<&S3Config> {
        match &self.inner.backend {
            Backend::S3(c) => Some(c),
            Backend::Local { .. } => None,
        }
    }

    fn backend_err(&self, op: &'static str, key: &str, source: object_store::Error) -> StoreError {
        match source {
            object_store::Error::NotFound { .. } => StoreError::NotFound {
                key: key.to_owned(),
            },
            source => StoreError::Backend {
                op,
                key: key.to_owned(),
                store: self.describe(),
                source: Box::new(source),
            },
        }
    }

    /// Every object whose key starts with `prefix` (any string; `""` = everything), sorted by
    /// key, with the store's own Last-Modified.
    pub async fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>, StoreError> {
        // object_store lists whole path segments: list the directory part, filter the rest.
        let dir = prefix.rfind('/').map(|i| &prefix[..i]).unwrap_or("");
        let dir_path = if dir.is_empty() {
            None
        } else {
            Some(obj_path(dir)?)
        };
        let metas: Vec<object_store::ObjectMeta> =
            match self.inner.os.list(dir_path.as_ref()).try_collect().await {
                Ok(m) => m,
                Err(object_store::Error::NotFound { .. }) => Vec::new(),
                Err(e) => return Err(self.backend_err("list", prefix, e)),
            };
        let mut out: Vec<ObjectMeta> = metas
            .into_iter()
            .map(|m| ObjectMeta {
                key: m.location.to_string(),
                size: m.size,
                last_modified: m.last_modified,
            })
            .filter(|m| m.key.starts_with(prefix) && !m.key.starts_with(LOCAL_TMP_DIR))
            .collect();
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    /// Metadata of one object.
    pub async fn head(&self, key: &str) -> Result<ObjectMeta, StoreError> {
        let path = obj_path(key)?;
        let m = self
            .inner
            .os
            .head(&path)
            .await
            .map_err(|e| self.backend_err("head", key, e))?;
        Ok(ObjectMeta {
            key: m.location.to_string(),
            size: m.size,
            last_modified: m.last_modified,
        })
    }

    /// The bytes of `key`, refusing objects larger than `max_bytes`.
    pub async fn get(&self, key: &str, max_bytes: u64) -> Result<Bytes, StoreError> {
        let meta = self.head(key).await?;
        if meta.size > max_bytes {
            return Err(StoreError::TooLarge {
                key: key.to_owned(),
                size: meta.size,
                max: max_bytes,
            });
        }
        let path = obj_path(key)?;
        let bytes = self
            .inner
            .os
            .get(&path)
            .await
            .map_err(|e| self.backend_err("get", key, e))?
            .bytes()
            .await
            .map_err(|e| self.backend_err("get", key, e))?;
        // The object may have been replaced between head and get.
        if bytes.len() as u64 > max_bytes {
            return Err(StoreError::TooLarge {
                key: key.to_owned(),
                size: bytes.len() as u64,
                max: max_bytes,
            });
        }
        Ok(bytes)
    }

    /// Writes `bytes` as `key` (atomically: readers see the old or the new object, never a part).
    pub async fn put(&self, key: &str, bytes: impl Into<Bytes>) -> Result<(), StoreError> {
        let path = obj_path(key)?;
        self.inner
            .os
            .put(&path, PutPayload::from(bytes.into()))
            .await
            .map_err(|e| self.backend_err("put", key, e))?;
        Ok(())
    }

    fn post_signer(&self) -> Result<(PolicySigner, String), StoreError> {
        match &self.inner.backend {
            Backend::Local {
                grants: Some(g), ..
            } => Ok((
                PolicySigner {
                    access_key: LOCAL_ACCESS_KEY.into(),
                    secret: g.secret.clone(),
                    region: LOCAL_REGION.into(),
                    bucket: LOCAL_BUCKET.into(),
                },
                g.upload_url.clone(),
            )),
            Backend::Local { grants: None, .. } => Err(StoreError::GrantUnavailable(
                "this local store has no upload endpoint configured (Store::with_local_grants)"
                    .into(),
            )),
            Backend::S3(c) => {
                let (origin, path) = c.bucket_origin();
                Ok((
                    PolicySigner {
                        access_key: c.access_key_id.clone(),
                        secret: c.secret_access_key.clone(),
                        region: c.region.clone(),
                        bucket: c.bucket.clone(),
                    },
                    format!("{origin}{path}"),
                ))
            }
        }
    }

    /// An upload grant: a POST policy allowing any key starting with `prefix` and a file length in
    /// `min_len..=max_len`, valid for `expiry` from `now`. Upload = multipart POST of `fields` +
    /// `key` + `file` to `url`; HTTP 204 on success. `folder` is set to `prefix`, `expiry` to unix
    /// seconds; `list_url` is a presigned listing of the prefix on S3 (absent for a local store).
    pub fn presigned_post(
        &self,
        prefix: &str,
        min_len: u64,
        max_len: u64,
        now: DateTime<Utc>,
        expiry: Duration,
    ) -> Result<PresignedPost, StoreError> {
        let (signer, url) = self.post_signer()?;
        let expires = now
            + chrono::Duration::from_std(expiry)
                .map_err(|e| StoreError::Config(format!("expiry {expiry:?}: {e}")))?;
        let fields = policy::build_fields(&signer, prefix, min_len, max_len, now, expires);
        let list_url = match &self.inner.backend {
            Backend::S3(_) => Some(self.presigned_list_url(prefix, now, expiry)?),
            Backend::Local { .. } => None,
        };
        Ok(PresignedPost {
            folder: Some(prefix.to_owned()),
            url,
            fields,
            expiry: Some(Expiry::Unix(expires.timestamp())),
            list_url,
            extra: BTreeMap::new(),
        })
    }

    fn presign(
        &self,
        method: &str,
        key_path: &str,
        query: Vec<(String, String)>,
        now: DateTime<Utc>,
        expiry: Duration,
    ) -> Result<String, StoreError> {
        let Backend::S3(c) = &self.inner.backend else {
            return Err(StoreError::GrantUnavailable(
                "presigned URLs exist only for S3 stores; a local store is read directly".into(),
            ));
        };
        let secs = expiry.as_secs().clamp(1, 604_800);
        let (origin, bucket_path) = c.bucket_origin();
        let encoded_path = format!("{bucket_path}/{}", sigv4::uri_encode_path(key_path));
        Ok(sigv4::presign_url(&sigv4::PresignRequest {
            method,
            origin: &origin,
            encoded_path: &encoded_path,
            query,
            access_key: &c.access_key_id,
            secret: &c.secret_access_key,
            region: &c.region,
            now,
            expires_secs: secs,
        }))
    }

    /// A presigned URL for `method` (`GET`, `PUT`, `HEAD`, `DELETE`) on one object (S3 only).
    /// A presigned `PUT` is the per-key alternative to a POST policy.
    pub fn presigned_url(
        &self,
        method: &str,
        key: &str,
        now: DateTime<Utc>,
        expiry: Duration,
    ) -> Result<String, StoreError> {
        check_key(key)?;
        self.presign(method, key, Vec::new(), now, expiry)
    }

    /// A presigned ListObjectsV2 URL of `prefix` (S3 only).
    pub fn presigned_list_url(
        &self,
        prefix: &str,
        now: DateTime<Utc>,
        expiry: Duration,
    ) -> Result<String, StoreError> {
        self.presign(
            "GET",
            "",
            vec![
                ("list-type".into(), "2".into()),
                ("prefix".into(), prefix.into()),
            ],
            now,
            expiry,
        )
    }

    /// Takes one object slot of the verified grant in `fields` (keyed by its signature), unless
    /// it has none left.
    fn reserve_grant_object(
        &self,
        fields: &BTreeMap<String, String>,
        now: DateTime<Utc>,
    ) -> Result<GrantSlot, StoreError> {
        let signature = fields
            .get(policy::field::SIGNATURE)
            .map(|s| s.to_ascii_lowercase())
            .ok_or(PolicyError::MissingField(policy::field::SIGNATURE))?;
        // verify_form accepted the policy, so its expiration parses; fall back to a day.
        let expires = fields
            .get(policy::field::POLICY)
            .and_then(|p| policy::decode(p).ok())
            .and_then(|doc| {
                doc["expiration"]
                    .as_str()
                    .and_then(|e| DateTime::parse_from_rfc3339(e).ok())
            })
            .map_or(now.timestamp() + 86_400, |e| e.timestamp());
        let max = self.inner.objects_per_grant;
        let mut uses = self.inner.grant_uses();
        if uses.len() >= GRANT_SWEEP_AT {
            let now = now.timestamp();
            uses.retain(|_, u| u.expires > now);
        }
        let entry = uses.entry(signature.clone()).or_insert(GrantUse {
            objects: 0,
            expires,
        });
        if entry.objects >= max {
            return Err(StoreError::GrantExhausted { max });
        }
        entry.objects += 1;
        Ok(GrantSlot {
            inner: self.inner.clone(),
            signature,
            used: false,
        })
    }

    /// Starts a local upload from a POST form: verifies `fields` (everything but the file) against
    /// this store's policy secret at `now` (signature, expiration, bucket, key prefix) and takes
    /// one of the grant's object slots ([`StoreError::GrantExhausted`] if none is left; given
    /// back if the upload does not finish). The caller then streams the file into the returned
    /// [`LocalUpload`] and calls [`LocalUpload::finish`], which enforces the length range and
    /// moves the file into place atomically.
    pub async fn begin_local_upload(
        &self,
        fields: &BTreeMap<String, String>,
        filename: &str,
        now: DateTime<Utc>,
    ) -> Result<LocalUpload, StoreError> {
        let Backend::Local { root, .. } = &self.inner.backend else {
            return Err(StoreError::GrantUnavailable(
                "uploads to an S3 store go to S3 itself".into(),
            ));
        };
        let (signer, _) = self.post_signer()?;
        let form = policy::verify_form(&signer, fields, filename, now)?;
        check_key(&form.key)?;
        let slot = self.reserve_grant_object(fields, now)?;
        let tmp_dir = root.join(LOCAL_TMP_DIR);
        tokio::fs::create_dir_all(&tmp_dir)
            .await
            .map_err(|source| StoreError::Io {
                op: "creating upload directory",
                path: tmp_dir.clone(),
                source,
            })?;
        let n = self.inner.tmp_counter.fetch_add(1, Ordering::Relaxed);
        let tmp = tmp_dir.join(format!("{}-{n}", std::process::id()));
        let file = tokio::fs::File::create(&tmp)
            .await
            .map_err(|source| StoreError::Io {
                op: "creating",
                path: tmp.clone(),
                source,
            })?;
        let dest = form.key.split('/').fold(root.clone(), |p, seg| p.join(seg));
        Ok(LocalUpload {
            form,
            tmp,
            dest,
            file: Some(file),
            written: 0,
            done: false,
            slot,
        })
    }
}

/// A local upload in progress (see [`Store::begin_local_upload`]). Dropping it unfinished
/// removes the temporary file.
#[derive(Debug)]
pub struct LocalUpload {
    form: VerifiedForm,
    tmp: PathBuf,
    dest: PathBuf,
    file: Option<tokio::fs::File>,
    written: u64,
    done: bool,
    slot: GrantSlot,
}

impl LocalUpload {
    /// The object key being written.
    pub fn key(&self) -> &str {
        &self.form.key
    }

    /// The largest file the grant allows, bytes.
    pub fn max_len(&self) -> u64 {
        self.form.max_len
    }

    /// Appends a chunk; fails as soon as the policy's maximum length is exceeded.
    pub async fn write(&mut self, chunk: &[u8]) -> Result<(), StoreError> {
        self.written += chunk.len() as u64;
        if self.written > self.form.max_len {
            return Err(PolicyError::LengthOutOfRange {
                len: self.written,
                min: self.form.min_len,
                max: self.form.max_len,
            }
            .into());
        }
        let Some(file) = self.file.as_mut() else {
            return Err(StoreError::GrantUnavailable(
                "upload already finished".into(),
            ));
        };
        file.write_all(chunk)
            .await
            .map_err(|source| StoreError::Io {
                op: "writing",
                path: self.tmp.clone(),
                source,
            })
    }

    /// Checks the length range, syncs and renames the file into place.
    pub async fn finish(mut self) -> Result<String, StoreError> {
        self.form.check_len(self.written)?;
        let io = |op: &'static str, path: &Path| {
            let path = path.to_owned();
            move |source| StoreError::Io { op, path, source }
        };
        if let Some(mut file) = self.file.take() {
            file.flush().await.map_err(io("flushing", &self.tmp))?;
            file.sync_all().await.map_err(io("syncing", &self.tmp))?;
        }
        if let Some(parent) = self.dest.parent() {
            tokio::fs::create_dir_all(parent)
                .await
                .map_err(io("creating", parent))?;
        }
        tokio::fs::rename(&self.tmp, &self.dest)
            .await
            .map_err(io("moving upload into place", &self.dest))?;
        self.done = true;
        self.slot.used = true;
        Ok(self.form.key.clone())
    }
}

impl Drop for LocalUpload {
    fn drop(&mut self) {
        if !self.done {
            // Best effort: the file may not exist any more.
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}
