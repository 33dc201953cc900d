// VENDORED: `src/lib.rs` of the crates.io crate `timelock` 0.0.1 (ideal-lab5/timelock, git
// 0c7e3648c8798f0b3762bb92a2f765eea2d371fb, directory `timelock/`), Apache-2.0: see LICENSE
// and HEADER next to `tle/mod.rs`. Built here on w3f-bls 0.1.9 instead of its pinned =0.1.4.
// Changes: it is a private module of resi-timelock, not a crate: the `no_std` attribute,
//   `extern crate alloc` (now in resi-timelock's lib.rs) and the crate-level lint attributes
//   went; two lints upstream's code trips are allowed below.

/*
 * Copyright 2024 by Ideal Labs, LLC
 *
 * Licensed under the Apache License, Version 2.0 (the "License");
 * you may not use this file except in compliance with the License.
 * You may obtain a copy of the License at
 *
 *     http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS,
 * WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 * See the License for the specific language governing permissions and
 * limitations under the License.
 */

// The vendored code is kept as upstream wrote it (tabs, its naming, error variants resi never
// sees): lib.rs puts `#[rustfmt::skip]` on `mod tle`, and these two lints are upstream's style.
#![allow(dead_code, clippy::enum_variant_names)]

pub mod curves;
pub mod ibe;
pub mod stream_ciphers;
pub mod tlock;
