// rsicam — turning C++ exceptions into rsicam error messages.
#include "shim.h"

#include <exception>
#include <string>

namespace rsicam
{

static const char torchscript_preamble[] =
    "The following operation failed in the TorchScript interpreter.";

// "RuntimeError: why" -> "why": a line naming an exception type.
static bool error_line(const std::string &line, std::string *why)
{
    size_t colon = line.find(": ");
    if (colon == std::string::npos || colon < 5 ||
        line.compare(colon - 5, 5, "Error") != 0)
        return false;
    for (size_t i = 0; i < colon; i++) {
        char c = line[i];
        if (!(isalnum((unsigned char)c) || c == '_' || c == '.'))
            return false;
    }
    *why = line.substr(colon + 2);
    return true;
}

// One line of a libtorch message. Most say what went wrong on their
// first line; a TorchScript interpreter error starts with a preamble and
// a traceback, and says why in its last "SomethingError: ..." line.
static std::string one_line(const char *text)
{
    std::string s(text ? text : "");
    size_t end = s.find('\n');
    std::string first = s.substr(0, end);
    if (first.rfind(torchscript_preamble, 0) != 0)
        return first;
    std::string why;
    for (size_t at = 0; at < s.size();) {
        size_t next = s.find('\n', at);
        std::string line = s.substr(
            at, next == std::string::npos ? std::string::npos : next - at);
        std::string found;
        if (error_line(line, &found))
            why = found;
        at = next == std::string::npos ? s.size() : next + 1;
    }
    return why.empty() ? first : "TorchScript: " + why;
}

void report_current_exception(const char *doing) noexcept
{
    try {
        throw;
    } catch (const c10::Error &e) {
        rsi_error("%s: %s", doing,
                  one_line(e.what_without_backtrace()).c_str());
    } catch (const std::exception &e) {
        rsi_error("%s: %s", doing, one_line(e.what()).c_str());
    } catch (...) {
        rsi_error("%s: unknown C++ exception", doing);
    }
}

} // namespace rsicam
