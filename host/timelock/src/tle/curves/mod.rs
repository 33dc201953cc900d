// VENDORED: `src/curves/mod.rs` of the crates.io crate `timelock` 0.0.1 (ideal-lab5/timelock, git
// 0c7e3648c8798f0b3762bb92a2f765eea2d371fb, directory `timelock/`), Apache-2.0: see LICENSE
// and HEADER next to `tle/mod.rs`. Built here on w3f-bls 0.1.9 instead of its pinned =0.1.4.
// Changes: none.

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

pub mod drand;
