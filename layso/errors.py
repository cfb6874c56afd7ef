"""One error hierarchy with stable codes and messages in Vietnamese and English."""

from __future__ import annotations

from typing import Any


class LaysoError(Exception):
    """A refusal the client can understand: HTTP status, stable code, message in two languages."""

    status = 400
    code = "bad_request"
    vi = "Yêu cầu không hợp lệ."
    en = "The request is not valid."

    def __init__(
        self,
        detail: str | None = None,
        *,
        vi: str | None = None,
        en: str | None = None,
        **fields: Any,
    ) -> None:
        self.detail = detail
        self.fields = fields
        if vi:
            self.vi = vi
        if en:
            self.en = en
        super().__init__(self.message("en"))

    def message(self, lang: str = "vi") -> str:
        text = (self.en if lang == "en" else self.vi).format(**self.fields)
        return f"{text} ({self.detail})" if self.detail else text

    def body(self, lang: str = "vi") -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message(lang)}
        if self.fields:
            error["details"] = self.fields
        return {"error": error}


def _error(name: str, status: int, code: str, vi: str, en: str) -> type[LaysoError]:
    return type(name, (LaysoError,), {"status": status, "code": code, "vi": vi, "en": en})


BadRequest = _error(
    "BadRequest", 400, "bad_request", "Yêu cầu không hợp lệ.", "The request is not valid."
)
Unauthorized = _error(
    "Unauthorized",
    401,
    "unauthorized",
    "Cần đăng nhập hoặc mã thiết bị hợp lệ.",
    "Sign in or a valid device token is required.",
)
Forbidden = _error(
    "Forbidden",
    403,
    "forbidden",
    "Bạn không có quyền thực hiện thao tác này.",
    "You are not allowed to do this.",
)
NotFound = _error("NotFound", 404, "not_found", "Không tìm thấy.", "Not found.")
UnknownHall = _error(
    "UnknownHall", 404, "unknown_hall", "Không có đơn vị '{hall}'.", "There is no hall '{hall}'."
)
UnknownService = _error(
    "UnknownService",
    404,
    "unknown_service",
    "Không có lĩnh vực '{service}'.",
    "There is no service area '{service}'.",
)
UnknownCounter = _error(
    "UnknownCounter",
    404,
    "unknown_counter",
    "Không có quầy số {counter}.",
    "There is no counter {counter}.",
)
UnknownTicket = _error(
    "UnknownTicket", 404, "unknown_ticket", "Không tìm thấy số thứ tự này.", "No such ticket."
)
UnknownPriority = _error(
    "UnknownPriority",
    400,
    "unknown_priority",
    "Đối tượng ưu tiên '{priority}' không có trong danh sách.",
    "'{priority}' is not one of the hall's priority groups.",
)
ServiceClosed = _error(
    "ServiceClosed",
    409,
    "service_closed",
    "Lĩnh vực {service} hiện không tiếp nhận hồ sơ.",
    "Service area {service} is closed now.",
)
NumbersExhausted = _error(
    "NumbersExhausted",
    409,
    "numbers_exhausted",
    "Lĩnh vực {service} đã hết số hôm nay.",
    "Service area {service} has no numbers left today.",
)
CounterClosed = _error(
    "CounterClosed",
    409,
    "counter_closed",
    "Quầy số {counter} đang đóng.",
    "Counter {counter} is closed.",
)
CounterPaused = _error(
    "CounterPaused",
    409,
    "counter_paused",
    "Quầy số {counter} đang tạm dừng.",
    "Counter {counter} is paused.",
)
CounterBusy = _error(
    "CounterBusy",
    409,
    "counter_busy",
    "Quầy số {counter} còn số {ticket} chưa xử lý xong.",
    "Counter {counter} has ticket {ticket} still open.",
)
CounterTaken = _error(
    "CounterTaken",
    409,
    "counter_taken",
    "Quầy số {counter} đang có cán bộ khác làm việc.",
    "Another clerk is signed in at counter {counter}.",
)
ClerkElsewhere = _error(
    "ClerkElsewhere",
    409,
    "clerk_elsewhere",
    "Bạn đang làm việc tại quầy số {counter}; hãy rời quầy đó trước.",
    "You are signed in at counter {counter}; leave it first.",
)
NotYourCounter = _error(
    "NotYourCounter",
    403,
    "not_your_counter",
    "Bạn không làm việc tại quầy số {counter}.",
    "You are not signed in at counter {counter}.",
)
NoCurrentTicket = _error(
    "NoCurrentTicket",
    409,
    "no_current_ticket",
    "Quầy số {counter} không có số nào đang phục vụ.",
    "Counter {counter} has no current ticket.",
)
InvalidTransition = _error(
    "InvalidTransition",
    409,
    "invalid_state",
    "Số {ticket} đang ở trạng thái '{status}', không thể {action}.",
    "Ticket {ticket} is '{status}' and cannot be {action}.",
)
TicketNotWaiting = _error(
    "TicketNotWaiting",
    409,
    "ticket_not_waiting",
    "Số {ticket} không còn trong hàng chờ.",
    "Ticket {ticket} is not waiting.",
)
AlreadyRated = _error(
    "AlreadyRated",
    409,
    "already_rated",
    "Lượt phục vụ này đã được đánh giá.",
    "This visit has already been rated.",
)
NotRateable = _error(
    "NotRateable",
    409,
    "not_rateable",
    "Chỉ đánh giá được lượt đã được phục vụ.",
    "Only a served visit can be rated.",
)
RateLimited = _error(
    "RateLimited",
    429,
    "rate_limited",
    "Thao tác quá nhanh, vui lòng thử lại sau ít giây.",
    "Too many requests; try again in a few seconds.",
)
Conflict = _error(
    "Conflict",
    409,
    "conflict",
    "Dữ liệu bị trùng hoặc xung đột.",
    "The change conflicts with existing data.",
)
BadIdempotencyKey = _error(
    "BadIdempotencyKey",
    400,
    "bad_idempotency_key",
    "Tiêu đề Idempotency-Key phải gồm 8 đến 100 ký tự ASCII in được (ví dụ một UUID).",
    "The Idempotency-Key header must be 8 to 100 printable ASCII characters (e.g. a UUID).",
)
IdempotencyKeyReused = _error(
    "IdempotencyKeyReused",
    422,
    "idempotency_key_reused",
    "Mã Idempotency-Key này đã dùng cho một thao tác khác; mỗi lần bấm cần một mã mới.",
    "This Idempotency-Key was used for another request; each tap or press needs a new key.",
)
NotWaiting = _error(
    "NotWaiting",
    409,
    "not_waiting",
    "Số {ticket} không còn chờ nên không thể {action}.",
    "Number {ticket} is no longer waiting: it cannot be {action_en}.",
)
PostponeNotOffered = _error(
    "PostponeNotOffered",
    409,
    "postpone_not_offered",
    "Đơn vị không cho phép lùi lượt.",
    "This hall does not offer moving back.",
)


# --- appointments and remote numbers (services/bookings.py): each refusal its own stable code

BookingClosed = _error(
    "BookingClosed",
    409,
    "booking_closed",
    "Lĩnh vực {service} không nhận đặt lịch trực tuyến.",
    "Service area {service} takes no online bookings.",
)
RemoteNumbersOff = _error(
    "RemoteNumbersOff",
    409,
    "remote_numbers_off",
    "Lĩnh vực {service} không phát số từ xa; vui lòng chọn giờ hẹn.",
    "Service area {service} gives no remote numbers; please pick a time slot.",
)
RemoteNumberNotToday = _error(
    "RemoteNumberNotToday",
    409,
    "remote_number_not_today",
    "Số từ xa chỉ lấy được cho hôm nay; với ngày khác vui lòng chọn giờ hẹn.",
    "A remote number is for today only; for another day please pick a time slot.",
)
BadPhone = _error(
    "BadPhone",
    400,
    "bad_phone",
    "Số điện thoại không hợp lệ (ví dụ: 0912 345 678).",
    "The phone number is not valid (e.g. 0912 345 678).",
)
IdRequired = _error(
    "IdRequired",
    400,
    "id_required",
    "Đơn vị này yêu cầu số Căn cước công dân (12 chữ số) khi đặt lịch.",
    "This hall asks for the citizen ID number (12 digits) to book.",
)
BadIdNumber = _error(
    "BadIdNumber",
    400,
    "bad_id_number",
    "Số Căn cước công dân phải gồm đúng 12 chữ số.",
    "The citizen ID number must be exactly 12 digits.",
)
BadDay = _error(
    "BadDay",
    409,
    "day_out_of_range",
    "Chỉ đặt lịch được từ hôm nay đến ngày {last}.",
    "Bookings are open from today to {last}.",
)
DayClosed = _error(
    "DayClosed",
    409,
    "day_closed",
    "Ngày {day} đơn vị không làm việc ({reason}).",
    "The hall is closed on {day} ({reason_en}).",
)
NoSuchSlot = _error(
    "NoSuchSlot",
    409,
    "no_such_slot",
    "Không có khung giờ {slot} ngày {day} cho lĩnh vực này.",
    "There is no {slot} slot on {day} for this area.",
)
SlotPast = _error(
    "SlotPast",
    409,
    "slot_past",
    "Khung giờ {slot} đã qua; vui lòng chọn giờ khác.",
    "The {slot} slot has passed; please pick another time.",
)
SlotFull = _error(
    "SlotFull",
    409,
    "slot_full",
    "Khung giờ {slot} ngày {day} đã kín chỗ; vui lòng chọn giờ khác.",
    "The {slot} slot on {day} is full; please pick another time.",
)
KeptForWalkIns = _error(
    "KeptForWalkIns",
    409,
    "kept_for_walk_ins",
    "Các số còn lại của lĩnh vực {service} ngày {day} dành cho người đến trực tiếp.",
    "The numbers left in {service} on {day} are kept for people who come in person.",
)
QuotaPerDay = _error(
    "QuotaPerDay",
    409,
    "quota_per_day",
    "Mỗi số điện thoại / CCCD chỉ được đặt {limit} lịch trong một ngày.",
    "One phone number / ID may hold {limit} bookings a day.",
)
QuotaPerArea = _error(
    "QuotaPerArea",
    409,
    "quota_per_area",
    "Mỗi số điện thoại / CCCD chỉ được đặt {limit} lịch mỗi lĩnh vực trong một ngày.",
    "One phone number / ID may hold {limit} booking(s) per area a day.",
)
UnknownBooking = _error(
    "UnknownBooking",
    404,
    "unknown_booking",
    "Không tìm thấy lịch hẹn hôm nay với mã hoặc số điện thoại này.",
    "No booking for today with this code or phone number.",
)
BookingNotActive = _error(
    "BookingNotActive",
    409,
    "booking_not_active",
    "Lịch hẹn {code} đang ở trạng thái '{state}', không thể {action}.",
    "Booking {code} is '{state}' and cannot be {action_en}.",
)
CheckInTooEarly = _error(
    "CheckInTooEarly",
    409,
    "check_in_too_early",
    "Chưa đến giờ xác nhận lịch hẹn {slot}. Vui lòng quay lại lúc {come_back}.",
    "Too early to check in for your {slot} booking. Please come back at {come_back}.",
)
CheckInOtherDay = _error(
    "CheckInOtherDay",
    409,
    "check_in_other_day",
    "Lịch hẹn {code} là ngày {day}, không phải hôm nay.",
    "Booking {code} is for {day}, not today.",
)
