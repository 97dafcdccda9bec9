"""Desktop notifications for alerts, through org.freedesktop.Notifications on the session
bus: app name, icon, urgency, actions, and ``replaces_id`` so that an ongoing alert
updates one notification instead of piling up new ones. Without a notification server
the tray's own balloon is used (``fallback`` signal)."""

import asyncio
import logging
from typing import Any

from dbus_fast import BusType, Message, MessageType, Variant
from dbus_fast.aio import MessageBus
from dbus_fast.errors import DBusFastError
from PySide6.QtCore import QObject, Signal

from smoothtask_gui.worker import AsyncWorker
from smoothtask_helper.model import JsonDict

log = logging.getLogger(__name__)

SERVICE = "org.freedesktop.Notifications"
PATH = "/org/freedesktop/Notifications"
APP_NAME = "SmoothTask"
ICON = "dialog-warning"
ACTION_LABELS = {"lower-priority": "Lower priority", "show": "Show", "mute-kind": "Mute this kind"}
URGENCY = {"info": 0, "warning": 1, "critical": 2}
RESOLVED_TIMEOUT_MS = 10_000


def notification_text(alert: JsonDict) -> tuple[str, str]:
    """Summary and body; an ended alert says so."""
    title, body = str(alert.get("title", "SmoothTask")), str(alert.get("body", ""))
    if alert.get("active") is False:
        return f"Resolved: {title}", body
    return title, body


class Notifier(QObject):
    """``action_invoked(alert, action)`` when the person picks an action;
    ``fallback(alert)`` when no notification server takes it."""

    action_invoked = Signal(dict, str)
    fallback = Signal(dict)

    def __init__(self, worker: AsyncWorker, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.worker = worker
        self.available = False
        self.reason = "not started"
        self._bus: MessageBus | None = None
        self._by_alert: dict[int, int] = {}  # alert id -> notification id
        self._alerts: dict[int, JsonDict] = {}  # notification id -> its latest alert
        # one Notify at a time: an update must see the id its first notification got
        self._sending: asyncio.Lock | None = None

    def start(self) -> None:
        self.worker.start()
        self.worker.submit(self._connect())

    def stop(self) -> None:
        if self._bus is not None:
            self.worker.loop.call_soon_threadsafe(self._bus.disconnect)
            self._bus = None

    def show(self, alert: JsonDict) -> None:
        """Notify, or update the notification this alert already has."""
        self.worker.submit(self._notify(alert))

    async def _connect(self) -> None:
        try:
            self._bus = await MessageBus(bus_type=BusType.SESSION).connect()
            self._bus.add_message_handler(self._on_signal)
            for member in ("ActionInvoked", "NotificationClosed"):
                await self._call(
                    "org.freedesktop.DBus",
                    "/org/freedesktop/DBus",
                    "org.freedesktop.DBus",
                    "AddMatch",
                    "s",
                    [f"type='signal',interface='{SERVICE}',member='{member}',path='{PATH}'"],
                )
        except (OSError, ValueError, DBusFastError) as exc:  # no session bus: the balloon will do
            self.reason = f"no session bus: {exc}"
            log.info("notifications: %s", self.reason)
            return
        self.available, self.reason = True, ""

    async def _notify(self, alert: JsonDict) -> None:
        if self._sending is None:
            self._sending = asyncio.Lock()
        async with self._sending:
            await self._send(alert)

    async def _send(self, alert: JsonDict) -> None:
        summary, body = notification_text(alert)
        if self._bus is None:
            self.fallback.emit(alert)
            return
        alert_id = int(alert.get("id", 0))
        actions: list[str] = []
        if alert.get("active") is not False:
            for key in alert.get("actions", ["show"]):
                if key in ACTION_LABELS:
                    actions += [key, ACTION_LABELS[key]]
        hints = {
            "urgency": Variant("y", URGENCY.get(str(alert.get("severity")), 1)),
            "desktop-entry": Variant("s", "smoothtask"),
            "category": Variant("s", "x-smoothtask.alert"),
        }
        timeout = RESOLVED_TIMEOUT_MS if alert.get("active") is False else -1
        try:
            (notification,) = await self._call(
                SERVICE,
                PATH,
                SERVICE,
                "Notify",
                "susssasa{sv}i",
                [
                    APP_NAME,
                    self._by_alert.get(alert_id, 0),
                    ICON,
                    summary,
                    body,
                    actions,
                    hints,
                    timeout,
                ],
            )
        except OSError as exc:
            self.available, self.reason = False, str(exc)
            self.fallback.emit(alert)
            return
        self._by_alert[alert_id] = int(notification)
        self._alerts[int(notification)] = alert

    async def _call(
        self,
        destination: str,
        path: str,
        interface: str,
        member: str,
        signature: str,
        body: list[Any],
    ) -> list[Any]:
        assert self._bus is not None  # noqa: S101  # connected before any call
        reply = await self._bus.call(
            Message(
                destination=destination,
                path=path,
                interface=interface,
                member=member,
                signature=signature,
                body=body,
            )
        )
        if reply is None or reply.message_type == MessageType.ERROR:
            text = reply.body[0] if reply is not None and reply.body else "no reply"
            raise OSError(f"{member} failed: {reply.error_name if reply else ''} {text}")
        return list(reply.body)

    def _on_signal(self, msg: Message) -> bool:
        if msg.message_type != MessageType.SIGNAL or msg.interface != SERVICE:
            return False
        if msg.member == "ActionInvoked" and msg.signature == "us":
            notification, action = msg.body
            alert = self._alerts.get(int(notification))
            if alert is not None:
                self.action_invoked.emit(alert, str(action))
        return False
