// VENDORED: `src/ibe/fullident.rs` of the crates.io crate `timelock` 0.0.1 (ideal-lab5/timelock, git
// 0c7e3648c8798f0b3762bb92a2f765eea2d371fb, directory `timelock/`), Apache-2.0: see LICENSE
// and HEADER next to `tle/mod.rs`. Built here on w3f-bls 0.1.9 instead of its pinned =0.1.4.
// Changes: `Identity::public` hashes the message with `E::hash_to_signature_curve(&message.1[..])`
//   instead of `message.hash_to_signature_curve::<E>()` (w3f-bls 0.1.9 prepends a cipher-suite
//   string there, which is not what drand signs); the unused serde derives and the
//   `#[cfg(test)]` module were removed (resi-timelock's tests/ cover encryption, decryption and
//   wrong keys through the public API).

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

use super::utils::{cross_product_32, h2, h3, h4};
use ark_ec::Group;
use ark_ff::{UniformRand, Zero};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize};
use ark_std::{ops::Mul, rand::Rng, vec::Vec};

use w3f_bls::{EngineBLS, Message};

/// Represents a ciphertext in the BF-IBE FullIdent scheme
#[derive(Debug, Clone, PartialEq, CanonicalDeserialize, CanonicalSerialize)]
pub struct Ciphertext<E: EngineBLS> {
	/// U = rP
	pub u: E::PublicKeyGroup,
	/// V = sigma (+) H_2(g_id^r)
	pub v: Vec<u8>,
	/// W = message (+) H_4(sigma)
	pub w: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum IbeError {
	DecryptionFailed,
}

/// A type to represent an IBE identity (for which we will encrypt message)
#[derive(Debug, Clone)]
pub struct Identity(pub Vec<Message>);

impl Identity {
	/// construct a new identity from a string
	pub fn new(ctx: &[u8], identities: Vec<Vec<u8>>) -> Self {
		Self(
			identities
				.iter()
				.map(|identity| Message::new(ctx, identity))
				.collect::<Vec<_>>(),
		)
	}

	/// The IBE extract function on a given secret key
	pub fn extract<E: EngineBLS>(&self, sk: E::Scalar) -> IBESecret<E> {
		IBESecret(self.public::<E>() * sk)
	}

	/// Derive the public key for this identity (hash to G1)
	pub fn public<E: EngineBLS>(&self) -> E::SignatureGroup {
		self.0
			.iter()
			// resi: w3f-bls 0.1.9's `Message::hash_to_signature_curve` prepends a cipher-suite
			// string; drand (and w3f-bls 0.1.3/0.1.4) hash the raw message bytes.
			.map(|message| E::hash_to_signature_curve(&message.1[..]))
			.fold(E::SignatureGroup::zero(), |acc, val| acc + val)
	}

	/// BF-IBE encryption
	///
	/// For a message with 32-bytes and a public key (in G2), calculates the
	/// BF-IBE ciphertext
	///
	/// C = <U, V, W> = <rP, sigma (+) H_2(g_{ID}^r, message (+) H_4(sigma))>
	/// where r is randomly selected from the finite field (Z_p) and g_{ID} =
	/// e(Q_ID, P_pub)
	pub fn encrypt<E, R>(
		&self,
		message: &[u8; 32],
		p_pub: E::PublicKeyGroup,
		mut rng: R,
	) -> Ciphertext<E>
	where
		E: EngineBLS,
		R: Rng + Sized,
	{
		let t = E::Scalar::rand(&mut rng);
		let mut t_bytes = Vec::new();
		t.serialize_compressed(&mut t_bytes)
			.expect("compressed size has been allocated");
		let sigma = h4(&t_bytes);
		// r= H3(sigma, message)
		let r: E::Scalar = h3::<E>(&sigma, message);
		let p = <<E as EngineBLS>::PublicKeyGroup as Group>::generator();
		// U = rP \in \mathbb{G}_1
		let u = p * r;
		// e(P_pub, Q_id)
		let g_id = E::pairing(p_pub.mul(r), self.public::<E>());
		// sigma (+) H2(e(P_pub, Q_id))
		let v_rhs = h2(g_id);
		let v_out = cross_product_32(&sigma, &v_rhs);
		// message (+) H4(sigma)
		let w_rhs = h4(&sigma);
		let w_out = cross_product_32(message, &w_rhs);
		// (rP, sigma (+) H2(e(Q_id, P_pub)), message (+) H4(sigma))
		Ciphertext::<E> { u, v: v_out.to_vec(), w: w_out.to_vec() }
	}
}

/// The output of the IBE extract algorithm is a BLS signature
#[derive(Debug, Clone, CanonicalDeserialize, CanonicalSerialize)]
pub struct IBESecret<E: EngineBLS>(pub E::SignatureGroup);

impl<E: EngineBLS> IBESecret<E> {
	/// BF-IBE decryption of a ciphertext C = <U, V, W>  
	/// Attempts to decrypt under the given IBESecret (in G1)
	pub fn decrypt(
		&self,
		ciphertext: &Ciphertext<E>,
	) -> Result<Vec<u8>, IbeError> {
		// sigma = V (+) H2(e(d_id, U))
		let sigma_rhs = h2(E::pairing(ciphertext.u, self.0));
		let sigma = cross_product_32(&ciphertext.v, &sigma_rhs);
		// m = W (+) H4(sigma)
		let m_rhs = h4(&sigma);
		let m = cross_product_32(&ciphertext.w, &m_rhs);
		// check: U == rP
		let p = <<E as EngineBLS>::PublicKeyGroup as Group>::generator();
		let r = h3::<E>(&sigma, &m);
		let u_check = p * r;

		if !u_check.eq(&ciphertext.u) {
			return Err(IbeError::DecryptionFailed);
		}

		Ok(m)
	}
}
