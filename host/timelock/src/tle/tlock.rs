// VENDORED: `src/tlock.rs` of the crates.io crate `timelock` 0.0.1 (ideal-lab5/timelock, git
// 0c7e3648c8798f0b3762bb92a2f765eea2d371fb, directory `timelock/`), Apache-2.0: see LICENSE
// and HEADER next to `tle/mod.rs`. Built here on w3f-bls 0.1.9 instead of its pinned =0.1.4.
// Changes: paths `crate::` -> `crate::tle::`; the `#[cfg(test)]` module was removed (its drand
//   quicknet round-1000 test lives on in resi-timelock's tests/commit.rs).

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
use crate::tle::{
	ibe::fullident::{Ciphertext as IBECiphertext, IBESecret, Identity},
	stream_ciphers::StreamCipherProvider,
};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize};

use ark_std::{
	rand::{CryptoRng, Rng},
	vec::Vec,
};

pub use w3f_bls::EngineBLS;

/// A secret key used for encryption/decryption
pub type OpaqueSecretKey = [u8; 32];

#[derive(CanonicalDeserialize, CanonicalSerialize, Debug)]
pub struct TLECiphertext<E: EngineBLS> {
	/// The header holds the IBE encrypted key
	pub header: IBECiphertext<E>,
	/// The body holds the message encrypted with a stream cipher
	pub body: Vec<u8>,
	/// The cipher suite used (symmetric encryption scheme)
	pub cipher_suite: Vec<u8>,
}

/// Errors that may occur while execute timelock encryption/decryption
#[derive(Debug, PartialEq)]
pub enum Error {
	/// The message could not be encrypted with the provided cipher
	MessageEncryptionError,
	/// The type could not be deserialized
	DeserializationError,
	/// The type could not be deserialized to an element of G1
	DeserializationErrorG1,
	/// The type could not be deserialized to an element of G2
	DeserializationErrorG2,
	/// The type could not be deserialized to a field element
	DeserializationErrorFr,
	/// The ciphertext could not be decrypted
	DecryptionError,
	/// The signature is invalid
	InvalidSignature,
	/// The secret key is not well-formed (must be 32 bytes)
	InvalidSecretKey,
}

/// Encrypt a message for an identity
///
/// * `p_pub`: the public key commitment for the IBE system (i.e. the setup
///   phase)
/// * `message`: The message to encrypt
/// * `id`: The identity to encrypt for
/// * `rng`: A CSPRNG
pub fn tle<E, S, R>(
	p_pub: E::PublicKeyGroup,
	secret_key: OpaqueSecretKey,
	message: &[u8],
	id: Identity,
	mut rng: R,
) -> Result<TLECiphertext<E>, Error>
where
	E: EngineBLS,
	S: StreamCipherProvider<32>,
	R: Rng + CryptoRng,
{
	// IBE encryption 'to the future'
	let header: IBECiphertext<E> = id.encrypt(&secret_key, p_pub, &mut rng);
	// encrypt arbitrary-length messages with a stream cipher
	let body = S::encrypt(message, secret_key, &mut rng)
		.map_err(|_| Error::MessageEncryptionError)?;
	let mut message_bytes = Vec::new();
	body.serialize_compressed(&mut message_bytes)
		.expect("Encryption output must be serializable.");

	Ok(TLECiphertext {
		header,
		body: message_bytes,
		cipher_suite: S::CIPHER_SUITE.to_vec(),
	})
}

/// Decrypt a ciphertext created as a result of timelock encryption
/// the signature should be equivalent to the output of IBE.Extract(ID)
/// where ID is the identity for which the message was created
///
/// * `ciphertext`: A TLECiphertext encrypted under some supported protocol
/// * `signature`: A BLS signature that allows decryption of the ciphertext
pub fn tld<E, S>(
	ciphertext: TLECiphertext<E>,
	signature: E::SignatureGroup,
) -> Result<Vec<u8>, Error>
where
	E: EngineBLS,
	S: StreamCipherProvider<32>,
{
	// IBE decrypt the secret key
	let secret_bytes = IBESecret(signature)
		.decrypt(&ciphertext.header)
		.map_err(|_| Error::InvalidSignature)?;
	// ensure we recovered a valid sized secret
	let secret_array: [u8; 32] =
		secret_bytes.try_into().map_err(|_| Error::InvalidSecretKey)?;

	// TODO: Enhanced SerializationError handling https://github.com/ideal-lab5/timelock/issues/11
	let ct = S::Ciphertext::deserialize_compressed(&mut &ciphertext.body[..])
		.map_err(|_| Error::DeserializationError)?;

	S::decrypt(ct, secret_array).map_err(|_| Error::DecryptionError)
}
