"""Model aliases to backends: priority, weight, health, cool-down and failover."""
