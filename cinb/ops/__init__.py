"""Engine operations: one module per CI feature family, each op a frozen dataclass."""
