"""Demo-model training: the cleaned label taxonomy and a synthetic helpline corpus."""
