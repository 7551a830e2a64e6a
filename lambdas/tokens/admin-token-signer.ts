import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { KeyObject, createPrivateKey, createPublicKey, generateKeyPairSync, sign } from 'node:crypto';

/**
 * Signs admin tokens with an asymmetric key whose private half the verifier never holds: KMS in
 * AWS, a local P-256 key locally. Both answer ECDSA signatures DER-encoded (as KMS `Sign` does for
 * ECDSA_SHA_256: "a DER-encoded object as defined by ANSI X9.62–2005 and RFC 3279 Section 2.2.3",
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_Sign.html), so the conversion to JWS
 * ES256 runs, and is tested, in both.
 */
export interface AdminTokenSigner {
  /** ECDSA P-256 over SHA-256 of `message`, DER-encoded. */
  signDer(message: Uint8Array): Promise<Uint8Array>;
  /** The verification key. */
  publicKey(): Promise<KeyObject>;
}

/** Thrown when a signature or key is not what ES256 needs. */
export class AdminTokenSignerError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AdminTokenSignerError';
  }
}

/**
 * A DER `SEQUENCE { INTEGER r, INTEGER s }` as JWS wants it: r and s, each left-padded to 32
 * bytes, concatenated (RFC 7518 section 3.4).
 */
export function derToJoseSignature(der: Uint8Array, size = 32): Uint8Array {
  const bytes = Buffer.from(der);
  let offset = 0;
  const expect = (tag: number) => {
    if (bytes[offset] !== tag) throw new AdminTokenSignerError(`Not a DER ECDSA signature: expected tag 0x${tag.toString(16)} at byte ${offset}.`);
    offset += 1;
  };
  const length = () => {
    let value = bytes[offset++];
    if (value & 0x80) {
      const count = value & 0x7f;
      value = 0;
      for (let i = 0; i < count; i++) value = (value << 8) | bytes[offset++];
    }
    return value;
  };
  expect(0x30);
  length();
  const integer = () => {
    expect(0x02);
    const n = length();
    let value = bytes.subarray(offset, offset + n);
    offset += n;
    while (value.length > size && value[0] === 0) value = value.subarray(1);
    if (value.length > size) throw new AdminTokenSignerError(`DER integer of ${value.length} bytes does not fit ${size}.`);
    return Buffer.concat([Buffer.alloc(size - value.length), value]);
  };
  const r = integer();
  const s = integer();
  return new Uint8Array(Buffer.concat([r, s]));
}

/** The one call a KMS signer makes: an AWS JSON 1.1 operation (lambdas/runtime/aws-json-client.ts `AwsJsonClient`). */
export interface KmsCaller {
  call<T>(operation: string, input: object): Promise<T>;
}

/**
 * KMS asymmetric key (`ECC_NIST_P256`, `SIGN_VERIFY`). Minting needs `kms:Sign` on it, which its
 * key policy grants the mint function only; verifying needs `kms:GetPublicKey`, which answers the
 * key as DER SubjectPublicKeyInfo (https://docs.aws.amazon.com/kms/latest/APIReference/API_GetPublicKey.html).
 * On the wire (AWS JSON 1.1) `Message`, `Signature` and `PublicKey` are blobs, sent base64-encoded;
 * `MessageType: RAW` has KMS hash the message with SHA-256 itself
 * (https://docs.aws.amazon.com/kms/latest/APIReference/API_Sign.html).
 */
export class KmsAdminTokenSigner implements AdminTokenSigner {
  constructor(
    private readonly kms: KmsCaller,
    private readonly keyId: string,
  ) {}

  public async signDer(message: Uint8Array): Promise<Uint8Array> {
    const input = { KeyId: this.keyId, Message: Buffer.from(message).toString('base64'), MessageType: 'RAW', SigningAlgorithm: 'ECDSA_SHA_256' };
    const { Signature } = await this.kms.call<{ Signature?: string }>('Sign', input);
    if (!Signature) throw new AdminTokenSignerError(`KMS answered no signature for key ${this.keyId}.`);
    return new Uint8Array(Buffer.from(Signature, 'base64'));
  }

  public async publicKey(): Promise<KeyObject> {
    const { PublicKey, KeySpec } = await this.kms.call<{ PublicKey?: string; KeySpec?: string }>('GetPublicKey', { KeyId: this.keyId });
    if (!PublicKey || KeySpec !== 'ECC_NIST_P256') throw new AdminTokenSignerError(`Key ${this.keyId} must be an ECC_NIST_P256 key; it is ${KeySpec ?? 'unknown'}.`);
    return createPublicKey({ key: Buffer.from(PublicKey, 'base64'), format: 'der', type: 'spki' });
  }
}

/** A P-256 key in a PEM file (the local runtime and tests): created on first use, readable by its owner only. */
export class LocalAdminTokenSigner implements AdminTokenSigner {
  private key?: Promise<KeyObject>;

  constructor(private readonly pemFile: string) {}

  public async signDer(message: Uint8Array): Promise<Uint8Array> {
    return new Uint8Array(sign('sha256', message, { key: await this.privateKey(), dsaEncoding: 'der' }));
  }

  public async publicKey(): Promise<KeyObject> {
    return createPublicKey(await this.privateKey());
  }

  private privateKey(): Promise<KeyObject> {
    this.key ??= (async () => {
      if (!existsSync(this.pemFile)) {
        const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
        await mkdir(path.dirname(this.pemFile), { recursive: true });
        await writeFile(this.pemFile, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600, flag: 'wx' }).catch((error: unknown) => {
          if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        });
      }
      return createPrivateKey(await readFile(this.pemFile, 'utf8'));
    })();
    return this.key;
  }
}
