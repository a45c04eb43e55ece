"""What a lead card shows of the appointment book: the lead's appointments and free slots to pick."""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, datetime

from leads.models import Lead
from leads.services.appointments import AppointmentInfo, lead_appointments
from leads.services.clinic import clinic_calendar
from leads.services.free_slots import FreeSlot, find_free_slots, first_free_slots

FIRST_SLOTS = 12  # how many of the first free slots the panel shows before a day is chosen

# Free slots by clinic day, then by doctor ("name — specialty"), in the order they first appear.
SlotDays = list[tuple[date, list[tuple[str, list[FreeSlot]]]]]


@dataclass(frozen=True)
class SlotFinder:
    """Which free slots the operator asked for (any of them may be empty)."""

    specialty: str | None = None
    doctor_id: int | None = None
    day: date | None = None
    reschedule_id: int | None = None


@dataclass(frozen=True)
class BookingPanel:
    """The booking panel of one lead card."""

    appointments: list[AppointmentInfo]
    shown: bool  # slots are offered: the lead is open, or one of its appointments is being moved
    slot_days: SlotDays
    day: date  # the day the panel pages from: the day asked for, else the first slot's day, else today
    today: date
    preferred: bool  # the slots start at the patient's preferred time
    moving: AppointmentInfo | None  # the appointment being rescheduled


def group_slots(slots: list[FreeSlot]) -> SlotDays:
    """Free slots by clinic day, then by doctor (in the order they first appear)."""
    tz = clinic_calendar().tz
    days: OrderedDict[date, OrderedDict[str, list[FreeSlot]]] = OrderedDict()
    for slot in slots:
        local = slot.start.astimezone(tz)
        doctor = f"{slot.doctor_name} — {slot.specialty}"
        days.setdefault(local.date(), OrderedDict()).setdefault(doctor, []).append(slot)
    return [(day, list(doctors.items())) for day, doctors in days.items()]


def booking_panel(lead: Lead, finder: SlotFinder, now: datetime) -> BookingPanel:
    """The lead's appointments and the free slots `finder` asks for.

    Without a day: the first free slots from now, or from the patient's
    preferred window when it is still ahead.  A day in the past reads as today.
    """
    calendar = clinic_calendar(now)
    today = calendar.local(now).date()
    appointments = lead_appointments(lead.id)
    moving = next((a for a in appointments if a.status == "scheduled" and a.id == finder.reschedule_id), None)
    shown = lead.is_open or moving is not None
    day = max(finder.day, today) if finder.day is not None else None
    slots: list[FreeSlot] = []
    preferred = False
    if shown:
        if day is not None:
            slots = find_free_slots(
                specialty=finder.specialty, doctor_id=finder.doctor_id, first_day=day, days=1, now=now
            )
        else:
            start = lead.preferred_start if lead.preferred_start and lead.preferred_start > now else None
            preferred = start is not None and moving is None
            slots = first_free_slots(
                specialty=finder.specialty,
                doctor_id=finder.doctor_id,
                from_moment=start if preferred else None,
                count=FIRST_SLOTS,
                now=now,
            )
    if day is None:
        day = slots[0].start.astimezone(calendar.tz).date() if slots else today
    return BookingPanel(
        appointments=appointments,
        shown=shown,
        slot_days=group_slots(slots),
        day=day,
        today=today,
        preferred=preferred,
        moving=moving,
    )
