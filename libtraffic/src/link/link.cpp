#include "traffic/link/link.hpp"

#include "traffic/common/hex.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include <boost/json.hpp>
#include <charconv>
#include <memory>
#include <optional>
#include <stdexcept>

namespace traffic::link {
namespace {

constexpr std::string_view kV2Prefix = "v2.";
constexpr std::size_t kIvSize = 16;
constexpr std::size_t kBlockSize = 16;  // AES
constexpr std::size_t kNonceSize = 12;
constexpr std::size_t kTagSize = 16;
// Real plaintexts are ~20 bytes; anything much longer is not ours and is refused before
// any decryption work.
constexpr std::size_t kMaxCiphertext = 256;

class LinkErrorCategory final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "traffic.link"; }
  std::string message(int) const override { return "invalid link"; }
};

const boost::system::error_code kInvalid = make_error_code(LinkError::invalid_link);

// Explicitly fetched ciphers: OpenSSL 3's EVP_aes_256_*() triggers an implicit fetch
// (locks, lookups) on every init, which would dominate a sub-microsecond decode.
const EVP_CIPHER* cbc_cipher() {
  static EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, "AES-256-CBC", nullptr);
  return cipher;
}
const EVP_CIPHER* ecb_cipher() {
  static EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, "AES-256-ECB", nullptr);
  return cipher;
}
const EVP_CIPHER* gcm_cipher() {
  static EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  return cipher;
}

// A cipher context per thread and use (v1/v2, encrypt/decrypt), reused: allocation-free,
// and it keeps its key schedule — re-initialising with only a new IV skips AES key
// expansion, which was 3.5% of a click's CPU in `perf`. The key is compared on every call,
// so a different key (v2 key ids, a rotated key) simply re-keys the context.
class KeyedCipher {
 public:
  KeyedCipher(const EVP_CIPHER* cipher, int encrypt) : ctx_(EVP_CIPHER_CTX_new()), cipher_(cipher), encrypt_(encrypt) {}
  ~KeyedCipher() {
    EVP_CIPHER_CTX_free(ctx_);
    OPENSSL_cleanse(key_.data(), key_.size());
  }
  KeyedCipher(const KeyedCipher&) = delete;
  KeyedCipher& operator=(const KeyedCipher&) = delete;

  // The context, ready for a new message under `key` with `iv`; nullptr on failure.
  EVP_CIPHER_CTX* start(const Key& key, const unsigned char* iv) noexcept {
    if (!ctx_ || !cipher_) return nullptr;
    const bool same_key = keyed_ && CRYPTO_memcmp(key.data(), key_.data(), key.size()) == 0;
    keyed_ = false;
    const int ok = same_key ? EVP_CipherInit_ex2(ctx_, nullptr, nullptr, iv, encrypt_, nullptr)
                            : EVP_CipherInit_ex2(ctx_, cipher_, key.data(), iv, encrypt_, nullptr);
    if (ok != 1) return nullptr;
    key_ = key;
    keyed_ = true;
    return ctx_;
  }

  // The context under `key` with padding off, initialised only when the key changes: for
  // a cipher without IV (ECB) whose blocks are fed straight through.
  EVP_CIPHER_CTX* blocks(const Key& key) noexcept {
    if (keyed_ && CRYPTO_memcmp(key.data(), key_.data(), key.size()) == 0) return ctx_;
    if (!start(key, nullptr) || EVP_CIPHER_CTX_set_padding(ctx_, 0) != 1) {
      keyed_ = false;
      return nullptr;
    }
    return ctx_;
  }

 private:
  EVP_CIPHER_CTX* ctx_;
  const EVP_CIPHER* cipher_;
  int encrypt_;
  bool keyed_ = false;
  Key key_{};
};

enum class CipherUse : std::uint8_t { v1_encrypt, v2_decrypt, v2_encrypt };

EVP_CIPHER_CTX* start_cipher(CipherUse use, const Key& key, const unsigned char* iv) noexcept {
  thread_local KeyedCipher ciphers[] = {{cbc_cipher(), 1}, {gcm_cipher(), 0}, {gcm_cipher(), 1}};
  return ciphers[static_cast<std::size_t>(use)].start(key, iv);
}

// AES-256-CBC decryption of v1 links (the click path) without re-initialising a context per
// link: the blocks go through an ECB context keyed once per thread, and the CBC chaining
// and the PKCS#7 padding check are done here. Even IV-only re-initialisation went through
// OpenSSL 3's parameter machinery and was 3.4% of a click's CPU. Returns the plaintext
// size, or nothing when the key is unusable or the padding is invalid.
std::optional<std::size_t> decrypt_cbc(const Key& key, const unsigned char* iv, const unsigned char* ciphertext,
                                       std::size_t size, unsigned char* plaintext) noexcept {
  thread_local KeyedCipher ecb(ecb_cipher(), 0);
  EVP_CIPHER_CTX* ctx = ecb.blocks(key);
  int written = 0;
  if (!ctx || size == 0 || size % kBlockSize != 0 ||
      EVP_DecryptUpdate(ctx, plaintext, &written, ciphertext, static_cast<int>(size)) != 1 ||
      static_cast<std::size_t>(written) != size) {
    return std::nullopt;
  }
  // The analyzer does not see decode_hex and OpenSSL fill `iv`, `ciphertext` and `plaintext`.
  // NOLINTBEGIN(clang-analyzer-core.uninitialized.Assign)
  for (std::size_t i = 0; i < kBlockSize; ++i) plaintext[i] ^= iv[i];
  for (std::size_t i = kBlockSize; i < size; ++i) plaintext[i] ^= ciphertext[i - kBlockSize];
  // NOLINTEND(clang-analyzer-core.uninitialized.Assign)
  // PKCS#7: the last byte n (1..16) says how many bytes of value n end the message.
  const unsigned pad = plaintext[size - 1];
  if (pad == 0 || pad > kBlockSize) return std::nullopt;
  for (std::size_t i = size - pad; i < size; ++i) {
    if (plaintext[i] != pad) return std::nullopt;
  }
  return size - pad;
}

bool decode_hex(std::string_view hex, unsigned char* out) noexcept {
  if (hex.size() % 2 != 0) return false;
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    const int hi = hex_value(hex[i]);
    const int lo = hex_value(hex[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i / 2] = static_cast<unsigned char>(hi << 4 | lo);
  }
  return true;
}

constexpr char kBase64Url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string encode_base64url(const unsigned char* data, std::size_t size) {
  std::string out;
  out.reserve((size * 4 + 2) / 3);
  std::size_t i = 0;
  for (; i + 3 <= size; i += 3) {
    const unsigned v = unsigned{data[i]} << 16 | unsigned{data[i + 1]} << 8 | data[i + 2];
    out += kBase64Url[v >> 18];
    out += kBase64Url[v >> 12 & 63];
    out += kBase64Url[v >> 6 & 63];
    out += kBase64Url[v & 63];
  }
  if (size - i == 1) {
    const unsigned v = unsigned{data[i]} << 16;
    out += kBase64Url[v >> 18];
    out += kBase64Url[v >> 12 & 63];
  } else if (size - i == 2) {
    const unsigned v = unsigned{data[i]} << 16 | unsigned{data[i + 1]} << 8;
    out += kBase64Url[v >> 18];
    out += kBase64Url[v >> 12 & 63];
    out += kBase64Url[v >> 6 & 63];
  }
  return out;
}

int base64url_value(char c) noexcept {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

// Unpadded base64url only; returns the decoded size or 0 on any deviation (including
// non-zero trailing bits, so each byte string has exactly one accepted spelling).
std::size_t decode_base64url(std::string_view text, unsigned char* out, std::size_t capacity) noexcept {
  if (text.size() % 4 == 1) return 0;
  const std::size_t size = text.size() / 4 * 3 + (text.size() % 4 == 0 ? 0 : text.size() % 4 - 1);
  if (size > capacity) return 0;
  unsigned accumulator = 0;
  int bits = 0;
  std::size_t n = 0;
  for (char c : text) {
    const int v = base64url_value(c);
    if (v < 0) return 0;
    accumulator = (accumulator << 6 | static_cast<unsigned>(v)) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[n++] = static_cast<unsigned char>(accumulator >> bits);
    }
  }
  if (bits > 0 && (accumulator & ((1u << bits) - 1)) != 0) return 0;
  return n;
}

// Canonical positive decimal that fits an int64: no sign, no leading zero, ≤ 18 digits.
std::optional<std::int64_t> parse_positive(std::string_view text) noexcept {
  if (text.empty() || text.size() > 18 || text[0] == '0') return std::nullopt;
  std::int64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

std::optional<std::int64_t> json_positive(const boost::json::value* v) noexcept {
  if (!v) return std::nullopt;
  if (v->is_int64() && v->get_int64() > 0) return v->get_int64();
  if (v->is_uint64() && v->get_uint64() > 0 && v->get_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) {
    return static_cast<std::int64_t>(v->get_uint64());
  }
  if (v->is_string()) return parse_positive(v->get_string());
  return std::nullopt;
}

std::string plaintext_of(LinkIds ids) {
  if (ids.offer_id <= 0 || ids.campaign_id <= 0) throw std::invalid_argument("offer and campaign ids must be positive");
  return std::to_string(ids.offer_id) + "|" + std::to_string(ids.campaign_id);
}

Key parse_key(std::string_view text, std::string_view what) {
  Key key{};
  if (text.size() == 32) {
    std::copy(text.begin(), text.end(), key.begin());
    return key;
  }
  if (text.size() == 64 && decode_hex(text, key.data())) return key;
  throw std::invalid_argument(std::string(what) + " must be 32 bytes or 64 hex digits (got " +
                              std::to_string(text.size()) + " characters)");
}

Key derive_v2_key(const Key& v1) {
  Key out{};
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, nullptr),
                                                                  EVP_PKEY_CTX_free);
  static constexpr unsigned char kInfo[] = "traffic link v2 key 0";
  std::size_t size = out.size();
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) <= 0 || EVP_PKEY_CTX_set_hkdf_md(ctx.get(), EVP_sha256()) <= 0 ||
      EVP_PKEY_CTX_set1_hkdf_key(ctx.get(), v1.data(), static_cast<int>(v1.size())) <= 0 ||
      EVP_PKEY_CTX_add1_hkdf_info(ctx.get(), kInfo, sizeof kInfo - 1) <= 0 ||
      EVP_PKEY_derive(ctx.get(), out.data(), &size) <= 0) {
    throw std::runtime_error("HKDF key derivation failed");
  }
  return out;
}

}  // namespace

const boost::system::error_category& link_error_category() noexcept {
  static const LinkErrorCategory category;
  return category;
}

boost::system::error_code make_error_code(LinkError e) noexcept {
  return {static_cast<int>(e), link_error_category()};
}

LinkKeys LinkKeys::from_config(std::string_view v1_key, std::string_view v2_keys) {
  LinkKeys keys;
  if (!v1_key.empty()) keys.v1_key_ = parse_key(v1_key, "ENCRIPTION_KEY");
  std::string_view rest = v2_keys;
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    const std::string_view entry = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    const auto colon = entry.find(':');
    unsigned kid = 256;
    if (colon != std::string_view::npos) {
      auto [ptr, ec] = std::from_chars(entry.data(), entry.data() + colon, kid);
      if (ec != std::errc() || ptr != entry.data() + colon) kid = 256;
    }
    if (kid > 255) throw std::invalid_argument("LINK_KEYS_V2 entries must look like <kid 0-255>:<64 hex digits>");
    const auto kid_byte = static_cast<std::uint8_t>(kid);
    if (keys.v2_keys_.contains(kid_byte))
      throw std::invalid_argument("LINK_KEYS_V2 repeats key id " + std::to_string(kid));
    keys.v2_keys_[kid_byte] = parse_key(entry.substr(colon + 1), "LINK_KEYS_V2 key " + std::to_string(kid));
    if (!keys.v2_active_) keys.v2_active_ = kid_byte;
  }
  if (keys.v2_keys_.empty() && keys.v1_key_) {
    keys.v2_keys_[0] = derive_v2_key(*keys.v1_key_);
    keys.v2_active_ = 0;
  }
  return keys;
}

const Key* LinkKeys::v2_key(std::uint8_t kid) const noexcept {
  auto it = v2_keys_.find(kid);
  return it == v2_keys_.end() ? nullptr : &it->second;
}

std::optional<LinkIds> parse_plaintext(std::string_view plaintext) noexcept {
  if (!plaintext.empty() && plaintext.front() == '{') {
    // Legacy JSON plaintext; bounded depth and size (the ciphertext limit caps it too).
    unsigned char scratch[2048];
    boost::json::static_resource arena(scratch, sizeof scratch);
    boost::json::parse_options options;
    options.max_depth = 2;
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(plaintext, ec, &arena, options);
    if (ec || !v.is_object()) return std::nullopt;
    auto offer = json_positive(v.get_object().if_contains("offerId"));
    auto campaign = json_positive(v.get_object().if_contains("campaignId"));
    if (!offer || !campaign) return std::nullopt;
    return LinkIds{*offer, *campaign};
  }
  const auto bar = plaintext.find('|');
  if (bar == std::string_view::npos) return std::nullopt;
  auto offer = parse_positive(plaintext.substr(0, bar));
  auto campaign = parse_positive(plaintext.substr(bar + 1));
  if (!offer || !campaign) return std::nullopt;
  return LinkIds{*offer, *campaign};
}

boost::system::result<LinkIds> decode_v1(std::string_view o, const LinkKeys& keys) noexcept {
  const auto& key = keys.v1_key();
  if (!key || o.size() < kIvSize * 2 + 1 || o[kIvSize * 2] != ':') return kInvalid;
  const std::string_view iv_hex = o.substr(0, kIvSize * 2);
  const std::string_view ct_hex = o.substr(kIvSize * 2 + 1);
  if (ct_hex.empty() || ct_hex.size() % 32 != 0 || ct_hex.size() / 2 > kMaxCiphertext) return kInvalid;
  unsigned char iv[kIvSize];
  unsigned char ciphertext[kMaxCiphertext];
  const std::size_t ct_size = ct_hex.size() / 2;
  if (!decode_hex(iv_hex, iv) || !decode_hex(ct_hex, ciphertext)) return kInvalid;

  unsigned char plaintext[kMaxCiphertext];
  const auto size = decrypt_cbc(*key, iv, ciphertext, ct_size, plaintext);
  if (!size) return kInvalid;
  auto ids = parse_plaintext(std::string_view(reinterpret_cast<const char*>(plaintext), *size));
  if (!ids) return kInvalid;
  return *ids;
}

boost::system::result<LinkIds> decode_v2(std::string_view o, const LinkKeys& keys) noexcept {
  if (!o.starts_with(kV2Prefix)) return kInvalid;
  unsigned char raw[1 + kNonceSize + kMaxCiphertext + kTagSize];
  const std::size_t size = decode_base64url(o.substr(kV2Prefix.size()), raw, sizeof raw);
  if (size < 1 + kNonceSize + 1 + kTagSize) return kInvalid;
  const std::uint8_t kid = raw[0];
  const Key* key = keys.v2_key(kid);
  if (!key) return kInvalid;
  const unsigned char* nonce = raw + 1;
  const unsigned char* ciphertext = nonce + kNonceSize;
  const std::size_t ct_size = size - 1 - kNonceSize - kTagSize;
  unsigned char* tag = raw + size - kTagSize;
  const unsigned char aad[3] = {'v', '2', kid};

  EVP_CIPHER_CTX* ctx = start_cipher(CipherUse::v2_decrypt, *key, nonce);
  unsigned char plaintext[kMaxCiphertext];
  int written = 0;
  int ignored = 0;
  int final_written = 0;
  if (!ctx || EVP_DecryptUpdate(ctx, nullptr, &ignored, aad, sizeof aad) != 1 ||
      EVP_DecryptUpdate(ctx, plaintext, &written, ciphertext, static_cast<int>(ct_size)) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, static_cast<int>(kTagSize), tag) != 1 ||
      EVP_DecryptFinal_ex(ctx, plaintext + written, &final_written) != 1) {
    return kInvalid;
  }
  const auto plain_size = static_cast<std::size_t>(written) + static_cast<std::size_t>(final_written);
  // v2 has one plaintext form only; the JSON legacy is a v1 matter.
  std::string_view text(reinterpret_cast<const char*>(plaintext), plain_size);
  if (text.empty() || text.front() == '{') return kInvalid;
  auto ids = parse_plaintext(text);
  if (!ids) return kInvalid;
  return *ids;
}

boost::system::result<LinkIds> decode(std::string_view o, const LinkKeys& keys, bool accept_v1) noexcept {
  if (o.starts_with(kV2Prefix)) return decode_v2(o, keys);
  if (!accept_v1) return kInvalid;
  return decode_v1(o, keys);
}

std::string encode_v1(LinkIds ids, const LinkKeys& keys) {
  std::array<unsigned char, kIvSize> iv{};
  if (RAND_bytes(iv.data(), static_cast<int>(iv.size())) != 1) throw std::runtime_error("RAND_bytes failed");
  return encode_v1(ids, keys, iv);
}

std::string encode_v1(LinkIds ids, const LinkKeys& keys, std::span<const unsigned char, 16> iv) {
  if (!keys.v1_key()) throw std::invalid_argument("no v1 key (ENCRIPTION_KEY) configured");
  const std::string plaintext = plaintext_of(ids);
  unsigned char ciphertext[kMaxCiphertext];
  int written = 0;
  int final_written = 0;
  EVP_CIPHER_CTX* ctx = start_cipher(CipherUse::v1_encrypt, *keys.v1_key(), iv.data());
  if (!ctx ||
      EVP_EncryptUpdate(ctx, ciphertext, &written, reinterpret_cast<const unsigned char*>(plaintext.data()),
                        static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx, ciphertext + written, &final_written) != 1) {
    throw std::runtime_error("AES-256-CBC encryption failed");
  }
  return to_hex(iv.data(), iv.size()) + ":" +
         to_hex(ciphertext, static_cast<std::size_t>(written) + static_cast<std::size_t>(final_written));
}

std::string encode_v2(LinkIds ids, const LinkKeys& keys) {
  std::array<unsigned char, kNonceSize> nonce{};
  if (RAND_bytes(nonce.data(), static_cast<int>(nonce.size())) != 1) throw std::runtime_error("RAND_bytes failed");
  return encode_v2(ids, keys, nonce);
}

std::string encode_v2(LinkIds ids, const LinkKeys& keys, std::span<const unsigned char, 12> nonce) {
  const auto kid = keys.v2_active_kid();
  if (!kid) throw std::invalid_argument("no v2 link key configured");
  const Key* key = keys.v2_key(*kid);
  const std::string plaintext = plaintext_of(ids);
  unsigned char raw[1 + kNonceSize + kMaxCiphertext + kTagSize];
  raw[0] = *kid;
  std::copy(nonce.begin(), nonce.end(), raw + 1);
  unsigned char* ciphertext = raw + 1 + kNonceSize;
  const unsigned char aad[3] = {'v', '2', *kid};
  int written = 0;
  int ignored = 0;
  int final_written = 0;
  EVP_CIPHER_CTX* ctx = start_cipher(CipherUse::v2_encrypt, *key, nonce.data());
  if (!ctx || EVP_EncryptUpdate(ctx, nullptr, &ignored, aad, sizeof aad) != 1 ||
      EVP_EncryptUpdate(ctx, ciphertext, &written, reinterpret_cast<const unsigned char*>(plaintext.data()),
                        static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx, ciphertext + written, &final_written) != 1) {
    throw std::runtime_error("AES-256-GCM encryption failed");
  }
  const auto ct_size = static_cast<std::size_t>(written) + static_cast<std::size_t>(final_written);
  if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, static_cast<int>(kTagSize), ciphertext + ct_size) != 1) {
    throw std::runtime_error("AES-256-GCM tag failed");
  }
  return std::string(kV2Prefix) + encode_base64url(raw, 1 + kNonceSize + ct_size + kTagSize);
}

}  // namespace traffic::link
