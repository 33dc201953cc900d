//! Sandbox benchmarks: instantiation cost with `InstancePre` + pooling vs on-demand allocation,
//! and the overhead of an (almost) empty policy call. Run with `cargo bench -p resi-sandbox`.
//! Needs the guests built (`cargo xtask guests`).

use criterion::{Criterion, criterion_group, criterion_main};
use resi_sandbox::policy::{PolicyEngine, PolicyEngineOptions};
use resi_testkit::guest;

fn bench(c: &mut Criterion) {
    let bytes = guest("example-policy");
    let mut group = c.benchmark_group("policy");
    for pooling in [true, false] {
        let options = PolicyEngineOptions {
            pooling,
            ..PolicyEngineOptions::default()
        };
        let policy = PolicyEngine::new(options)
            .expect("engine")
            .load(&bytes)
            .expect("load");
        let label = if pooling { "pooling" } else { "on-demand" };
        group.bench_function(format!("instantiate/{label}"), |b| {
            b.iter(|| policy.instantiate_check().expect("instantiate"))
        });
        group.bench_function(format!("instantiate+info-call/{label}"), |b| {
            b.iter(|| policy.info().expect("info"))
        });
    }
    group.finish();
    c.bench_function("policy/compile-and-prelink", |b| {
        let engine = PolicyEngine::new(PolicyEngineOptions::default()).expect("engine");
        b.iter(|| engine.load(&bytes).expect("load"))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
