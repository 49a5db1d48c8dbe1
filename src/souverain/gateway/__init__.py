"""The gateway services behind the OpenAI-compatible API: limits, routing and response shaping."""
