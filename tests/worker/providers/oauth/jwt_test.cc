#include "worker/providers/oauth/jwt.h"

#include <gtest/gtest.h>

#include "tests/worker/providers/oauth/test_keys.h"

namespace ccr::worker::oauth {
namespace {

TEST(Base64Url, EncodesWithoutPaddingInTheUrlAlphabet) {
    EXPECT_EQ(base64url_encode(""), "");
    EXPECT_EQ(base64url_encode("f"), "Zg");
    EXPECT_EQ(base64url_encode("fo"), "Zm8");
    EXPECT_EQ(base64url_encode("foo"), "Zm9v");
    EXPECT_EQ(base64url_encode("\xfb\xff\xbf"), "-_-_");
}

TEST(Base64Url, DecodesWhatItEncodesAndRefusesOtherAlphabets) {
    const std::string bytes("\x00\x01\xfe\xff hello \x7f", 12);
    EXPECT_EQ(base64url_decode(base64url_encode(bytes)), bytes);
    EXPECT_EQ(base64url_decode("Zg=="), "f");
    EXPECT_FALSE(base64url_decode("ab+/").has_value());
    EXPECT_FALSE(base64url_decode("abcde").has_value());
}

TEST(Jwt, SignatureVerifiesWithTheMatchingPublicKeyAndPartsDecode) {
    PrivateKey generated = testing::generate_rsa_key();
    std::string error;
    PrivateKey key = load_private_key_pem(testing::private_key_pem(generated.get()), error);
    ASSERT_TRUE(key) << error;
    const std::string header = R"({"alg":"RS256","typ":"JWT","kid":"k1"})";
    const std::string claims = R"({"iss":"a@b","iat":1,"exp":3601})";
    const std::string jwt = sign_rs256_jwt(header, claims, key.get(), error);
    ASSERT_FALSE(jwt.empty()) << error;
    EXPECT_EQ(testing::jwt_part(jwt, 0), header);
    EXPECT_EQ(testing::jwt_part(jwt, 1), claims);
    EXPECT_TRUE(testing::verifies(jwt, generated.get()));
    // Another key's public half does not verify it.
    PrivateKey other = testing::generate_rsa_key();
    EXPECT_FALSE(testing::verifies(jwt, other.get()));
}

TEST(Jwt, ATamperedClaimFailsVerification) {
    PrivateKey key = testing::generate_rsa_key();
    std::string error;
    std::string jwt = sign_rs256_jwt("{}", R"({"exp":1})", key.get(), error);
    const std::size_t dot = jwt.find('.');
    jwt.replace(dot + 1, jwt.find('.', dot + 1) - dot - 1, base64url_encode(R"({"exp":2})"));
    EXPECT_FALSE(testing::verifies(jwt, key.get()));
}

TEST(Jwt, LoadingRejectsTextThatIsNotAnRsaPrivateKeyWithoutQuotingIt) {
    std::string error;
    EXPECT_FALSE(load_private_key_pem(
        "-----BEGIN PRIVATE KEY-----\nc2VjcmV0\n-----END PRIVATE KEY-----\n", error));
    EXPECT_NE(error.find("not an unencrypted PEM private key"), std::string::npos) << error;
    EXPECT_EQ(error.find("c2VjcmV0"), std::string::npos);

    PrivateKey ec(EVP_EC_gen("P-256"));
    error.clear();
    EXPECT_FALSE(load_private_key_pem(testing::private_key_pem(ec.get()), error));
    EXPECT_NE(error.find("not an RSA key"), std::string::npos) << error;
}

TEST(Jwt, SigningWithoutAKeyIsAnError) {
    std::string error;
    EXPECT_EQ(sign_rs256_jwt("{}", "{}", nullptr, error), "");
    EXPECT_FALSE(error.empty());
}

}  // namespace
}  // namespace ccr::worker::oauth
