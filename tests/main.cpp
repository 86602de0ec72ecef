// The Catch2 runner; the tests live in test_*.cpp beside it.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
