#include "worker/runtime.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

namespace ccr::worker {
namespace {

std::shared_ptr<const shared::Config> config_with_clients() {
    return std::make_shared<const shared::Config>(shared::load_config_text(R"(
providers:
  - {name: anthropic, type: anthropic, enabled: true}
  - {name: off, type: anthropic, enabled: false}
  - {name: zai, type: zai, enabled: true, keys: [{key: z}]}
  - {name: ollama, type: ollama, enabled: true}
clients:
  - {name: everyone, key: k0}
  - {name: zai-only, key: k1, allowed_providers: [zai]}
  - {name: two, key: k2, allowed_providers: [ollama, anthropic]}
  - {name: all-named, key: k3, allowed_providers: [anthropic, zai, ollama]}
  - {name: disabled-only, key: k4, allowed_providers: ["off"]}
)",
                                                                               "config.yaml"));
}

TEST(Runtime, AClientsAllowedProvidersBecomeTheRoutingMaskOverTheEnabledProviders) {
    boost::asio::io_context ioc;
    const Runtime rt(ioc, config_with_clients());
    ASSERT_EQ(rt.providers.size(), 3u);  // anthropic, zai, ollama
    constexpr std::uint64_t kAll = ~std::uint64_t{0};
    EXPECT_EQ(rt.allowed_providers(-1), kAll) << "no client: no restriction";
    EXPECT_EQ(rt.allowed_providers(0), kAll) << "no allowed_providers: every provider";
    EXPECT_EQ(rt.allowed_providers(1), 0b010u);
    EXPECT_EQ(rt.allowed_providers(2), 0b101u);
    EXPECT_EQ(rt.allowed_providers(3), kAll) << "every enabled provider named: unrestricted";
    EXPECT_EQ(rt.allowed_providers(4), 0u) << "only a disabled provider: nothing";
    EXPECT_EQ(rt.allowed_providers(5), kAll) << "out of range";
}

TEST(Runtime, AuthenticatesTheClientKeysOfItsConfig) {
    boost::asio::io_context ioc;
    const Runtime rt(ioc, config_with_clients());
    EXPECT_EQ(rt.client_keys.find("k2"), 2);
    EXPECT_EQ(rt.client_keys.find("k5"), -1);
}

}  // namespace
}  // namespace ccr::worker
