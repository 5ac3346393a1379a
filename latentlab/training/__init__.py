"""Training without Qt: the Trainer loop, its control, evaluation and the judge cache."""
