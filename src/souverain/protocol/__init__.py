"""OpenAI wire format: request models validated at the edge, response builders as pure functions."""
