"""Films: reading, colouring and scoring videos."""
