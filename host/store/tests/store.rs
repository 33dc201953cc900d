//! Store tests: a local directory and a real S3 server (moto, from `RESI_S3_ENDPOINT`).

use chrono::Utc;
use resi_client::{ApiClient, ClientConfig, RetryPolicy};
use resi_store::policy::{self, PolicySigner};
use resi_store::{LocalGrants, S3Config, Store, StoreError};
use std::collections::BTreeMap;
use std::time::Duration;

const HOUR: Duration = Duration::from_secs(3600);

/// The moto endpoint, or None after a loud skip (a failure when `RESI_REQUIRE_S3=1`).
fn s3_endpoint(test: &str) -> Option<String> {
    match std::env::var("RESI_S3_ENDPOINT") {
        Ok(e) if !e.is_empty() => Some(e),
        _ => {
            assert!(
                std::env::var("RESI_REQUIRE_S3").as_deref() != Ok("1"),
                "RESI_REQUIRE_S3=1 but RESI_S3_ENDPOINT is unset"
            );
            eprintln!(
                "!!!! SKIPPED {test}: RESI_S3_ENDPOINT is not set (run `cargo xtask test`) !!!!"
            );
            None
        }
    }
}

/// A fresh bucket on moto (moto accepts the unsigned CreateBucket).
async fn moto_store(endpoint: &str, bucket: &str) -> Store {
    let r = reqwest::Client::new()
        .put(format!("{endpoint}/{bucket}"))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "create bucket: {}", r.status());
    Store::s3(S3Config {
        endpoint: Some(endpoint.to_owned()),
        bucket: bucket.to_owned(),
        region: "us-east-1".into(),
        access_key_id: "testing".into(),
        secret_access_key: "testing-secret".into(),
        path_style: true,
    })
    .unwrap()
}

fn client() -> ApiClient {
    let mut cfg = ClientConfig::new("http://127.0.0.1:1");
    cfg.retry = RetryPolicy {
        max_retries: 0,
        ..RetryPolicy::default()
    };
    ApiClient::new(cfg, None).unwrap()
}

async fn basic_ops(store: &Store) {
    store
        .put("data/hotkey=A/e=1/a.json", b"hello".to_vec())
        .await
        .unwrap();
    store
        .put("data/hotkey=A/e=1/b.json", b"world!".to_vec())
        .await
        .unwrap();
    store
        .put("data/hotkey=B/x.json", b"other".to_vec())
        .await
        .unwrap();
    store
        .put("validators/V/r.json", b"{}".to_vec())
        .await
        .unwrap();
    let all = store.list("data/").await.unwrap();
    let keys: Vec<_> = all.iter().map(|m| m.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "data/hotkey=A/e=1/a.json",
            "data/hotkey=A/e=1/b.json",
            "data/hotkey=B/x.json"
        ]
    );
    assert_eq!(all[1].size, 6);
    let age = Utc::now() - all[0].last_modified;
    assert!(
        age.num_seconds().abs() < 600,
        "Last-Modified is the store's clock"
    );
    // A prefix that ends inside a segment.
    assert_eq!(store.list("data/hotkey=").await.unwrap().len(), 3);
    assert_eq!(store.list("data/hotkey=B").await.unwrap().len(), 1);
    assert!(store.list("nothing/").await.unwrap().is_empty());
    assert_eq!(store.list("").await.unwrap().len(), 4);
    assert_eq!(
        &store.get("data/hotkey=B/x.json", 100).await.unwrap()[..],
        b"other"
    );
    assert!(matches!(
        store.get("data/hotkey=B/x.json", 2).await,
        Err(StoreError::TooLarge {
            size: 5,
            max: 2,
            ..
        })
    ));
    assert!(matches!(
        store.get("data/missing", 10).await,
        Err(StoreError::NotFound { .. })
    ));
    for bad in ["", "/abs", "a//b", "a/../b", "a/.hidden", "a/"] {
        assert!(
            matches!(
                store.put(bad, b"x".to_vec()).await,
                Err(StoreError::InvalidKey { .. })
            ),
            "{bad:?}"
        );
    }
}

#[tokio::test]
async fn local_store_basic_operations() {
    let dir = tempfile::tempdir().unwrap();
    basic_ops(&Store::local(dir.path()).unwrap()).await;
}

#[tokio::test]
async fn s3_store_basic_operations() {
    let Some(ep) = s3_endpoint("s3_store_basic_operations") else {
        return;
    };
    basic_ops(&moto_store(&ep, "resi-store-basic").await).await;
}

#[tokio::test]
async fn local_grant_is_confined_to_prefix_and_length() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::local(dir.path())
        .unwrap()
        .with_local_grants(LocalGrants {
            upload_url: "http://127.0.0.1:1/local-store/upload".into(),
            secret: "grant-secret".into(),
        });
    let post = store
        .presigned_post("data/hotkey=A/", 4, 16, Utc::now(), HOUR)
        .unwrap();
    assert_eq!(post.folder.as_deref(), Some("data/hotkey=A/"));
    let mut form = post.fields.clone();
    let upload = |form: BTreeMap<String, String>, data: &'static [u8]| {
        let store = store.clone();
        async move {
            let mut up = store
                .begin_local_upload(&form, "f.json", Utc::now())
                .await?;
            up.write(data).await?;
            up.finish().await
        }
    };
    form.insert("key".into(), "data/hotkey=A/ok.json".into());
    assert_eq!(
        upload(form.clone(), b"12345").await.unwrap(),
        "data/hotkey=A/ok.json"
    );
    assert_eq!(
        &store.get("data/hotkey=A/ok.json", 100).await.unwrap()[..],
        b"12345"
    );
    // Too short, too long.
    assert!(matches!(
        upload(form.clone(), b"123").await,
        Err(StoreError::Policy(_))
    ));
    assert!(matches!(
        upload(form.clone(), b"0123456789abcdefX").await,
        Err(StoreError::Policy(_))
    ));
    // Outside the prefix, including a traversal that starts with the prefix.
    for key in [
        "data/hotkey=B/x.json",
        "data/x.json",
        "data/hotkey=A/../../x",
    ] {
        form.insert("key".into(), key.into());
        let err = upload(form.clone(), b"12345").await.unwrap_err();
        assert!(
            matches!(err, StoreError::Policy(_) | StoreError::InvalidKey { .. }),
            "{key}: {err}"
        );
    }
    // Only the accepted object exists (no temp files listed).
    let keys: Vec<_> = store
        .list("")
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.key)
        .collect();
    assert_eq!(keys, ["data/hotkey=A/ok.json"]);
    // An S3 store refuses local uploads; a local store without grants refuses to issue them.
    let plain = Store::local(dir.path()).unwrap();
    assert!(matches!(
        plain.presigned_post("p/", 1, 2, Utc::now(), HOUR),
        Err(StoreError::GrantUnavailable(_))
    ));
}

#[tokio::test]
async fn s3_grants_upload_and_carry_the_conditions() {
    let Some(ep) = s3_endpoint("s3_grants_upload_and_carry_the_conditions") else {
        return;
    };
    let store = moto_store(&ep, "resi-store-grants").await;
    let now = Utc::now();
    let post = store
        .presigned_post("data/hotkey=A/", 1024, 5_368_709_120, now, HOUR)
        .unwrap();
    assert_eq!(post.url, format!("{ep}/resi-store-grants"));
    // The policy document carries the confinement conditions.
    let doc = policy::decode(&post.fields["policy"]).unwrap();
    let conds = doc["conditions"].as_array().unwrap();
    assert!(conds.contains(&serde_json::json!([
        "starts-with",
        "$key",
        "data/hotkey=A/"
    ])));
    assert!(conds.contains(&serde_json::json!([
        "content-length-range",
        1024,
        5_368_709_120u64
    ])));
    assert!(conds.contains(&serde_json::json!({"bucket": "resi-store-grants"})));
    // The signature verifies under the bucket's secret, and the same policy check the local store
    // runs refuses a key outside the prefix. (moto itself enforces neither; AWS S3 does.)
    let signer = PolicySigner {
        access_key: "testing".into(),
        secret: "testing-secret".into(),
        region: "us-east-1".into(),
        bucket: "resi-store-grants".into(),
    };
    let mut form = post.fields.clone();
    form.insert("key".into(), "data/hotkey=A/x.json".into());
    let ok = policy::verify_form(&signer, &form, "", now).unwrap();
    assert_eq!((ok.min_len, ok.max_len), (1024, 5_368_709_120));
    form.insert("key".into(), "data/hotkey=B/x.json".into());
    assert!(policy::verify_form(&signer, &form, "", now).is_err());
    // An upload with the grant, through the miners' client, is readable afterwards.
    let data = vec![b'x'; 2048];
    client()
        .upload_presigned(
            &post,
            "data/hotkey=A/e/z/listings.json",
            "listings.json",
            data.clone(),
        )
        .await
        .unwrap();
    let got = store
        .get("data/hotkey=A/e/z/listings.json", 10_000)
        .await
        .unwrap();
    assert_eq!(got.len(), 2048);
    // The presigned list URL lists the folder.
    let xml = reqwest::get(post.list_url.as_deref().unwrap())
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(xml.contains("data/hotkey=A/e/z/listings.json"), "{xml}");
    // Per-key presigned PUT and GET URLs work.
    let put = store
        .presigned_url("PUT", "data/hotkey=A/put.json", now, HOUR)
        .unwrap();
    let r = reqwest::Client::new()
        .put(&put)
        .body(vec![1u8; 10])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    let get = store
        .presigned_url("GET", "data/hotkey=A/put.json", now, HOUR)
        .unwrap();
    assert_eq!(
        reqwest::get(&get)
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap()
            .len(),
        10
    );
}
