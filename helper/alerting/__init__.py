"""The alert engine: metrics -> alerts, with thresholds, durations and cooldowns.

Pure logic: it reads samples and says which alerts to raise, update or end; the helper
keeps the log and sends the signals.
"""
