"""SmoothTask's tray app: status icon, dashboard and controls for the person at the desk."""
