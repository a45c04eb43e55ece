"""Application services: plain values in, domain errors out; the only code that commits."""
