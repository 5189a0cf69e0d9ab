#define CAF_SUITE auth_limiter

#include "actors/auth_limiter.hpp"

#include <caf/test/dsl.hpp>

using namespace gatehouse::actors;

namespace {

struct fixture : test_coordinator_fixture<> {
  auth_limiter_actor limiter = sys.spawn(auth_limiter_impl, size_t{100000});

  limit_decision hit(const std::string& ip, int64_t now_ms) {
    auto rh = self->request(limiter, caf::infinite, auth_hit_atom_v, ip,
                            now_ms);
    run();
    limit_decision out;
    rh.receive([&](const limit_decision& d) { out = d; },
               [&](caf::error& e) { CAF_FAIL("limiter failed: " << e); });
    return out;
  }
};

constexpr int64_t minute = 60 * 1000;

} // namespace

CAF_TEST_FIXTURE_SCOPE(auth_limiter_tests, fixture)

CAF_TEST(the eleventh attempt in fifteen minutes is refused) {
  for (int i = 0; i < 10; ++i)
    CAF_CHECK(hit("10.0.0.1", i * minute).allowed);
  auto d = hit("10.0.0.1", 10 * minute);
  CAF_CHECK(!d.allowed);
  // The first attempt (t = 0) leaves the window at t = 15 min.
  CAF_CHECK_EQUAL(d.retry_after_s, 5 * 60);
}

CAF_TEST(other clients are counted separately) {
  for (int i = 0; i < 10; ++i)
    hit("10.0.0.1", 0);
  CAF_CHECK(!hit("10.0.0.1", 1).allowed);
  CAF_CHECK(hit("10.0.0.2", 1).allowed);
}

CAF_TEST(the window slides) {
  for (int i = 0; i < 10; ++i)
    hit("10.0.0.1", i * minute);
  CAF_CHECK(!hit("10.0.0.1", 14 * minute).allowed);
  // At 15 min the attempt made at 0 has left the window.
  CAF_CHECK(hit("10.0.0.1", 15 * minute).allowed);
  CAF_CHECK(!hit("10.0.0.1", 15 * minute + 1).allowed);
}

CAF_TEST_FIXTURE_SCOPE_END()
