//! Prints the policy's default parameters as canonical JSON (used when writing policy.toml).

fn main() {
    print!("{}", zipcode_competitive_core::params::default_params_json());
}
