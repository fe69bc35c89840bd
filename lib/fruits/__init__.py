"""Study 4 data: Fruits-360 (real subset, download helper) and a generated, synthetic demo set."""
