"""Readers and writers of the on-disk formats llamapipe consumes and produces."""
