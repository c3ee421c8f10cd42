"""The pure fleet model: cited defaults, the organisation directory, the generator and the batch planner."""
