//! The Spark narrator: an OpenAI-compatible chat completion per user.
