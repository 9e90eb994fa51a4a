"""Deep Learning in the Wild (ANNPR 2018): its lessons as small, measured experiments."""
