//! Test support: fake_spark.
