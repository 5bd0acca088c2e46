// rsicam — turning C++ exceptions into rsicam error messages.
#include "shim.h"

#include <exception>
#include <string>

namespace rsicam
{

static std::string first_line(const char *text)
{
    std::string s(text ? text : "");
    size_t end = s.find('\n');
    if (end != std::string::npos)
        s.resize(end);
    return s;
}

void report_current_exception(const char *doing) noexcept
{
    try {
        throw;
    } catch (const c10::Error &e) {
        rsi_error("%s: %s", doing,
                  first_line(e.what_without_backtrace()).c_str());
    } catch (const std::exception &e) {
        rsi_error("%s: %s", doing, first_line(e.what()).c_str());
    } catch (...) {
        rsi_error("%s: unknown C++ exception", doing);
    }
}

} // namespace rsicam
