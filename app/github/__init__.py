"""The GitHub edge: auth, requests, answers classified, snapshots read."""
