using System.Text.Encodings.Web;
using System.Text.Json;

namespace InferenceServer.Protocols.Http;

/// <summary>How every v2 response body is written.</summary>
internal static class V2Json
{
    /// <summary>
    /// Minimal escaping: a model name in an error reads as 'simple', not \u0027simple\u0027, and
    /// non-ASCII BYTES text stays readable. Bodies are JSON for API clients, never embedded in HTML,
    /// so the HTML-safe escaping of the default encoder buys nothing here.
    /// </summary>
    public static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary><see cref="WriterOptions"/> without structural validation, for the hot infer path whose writer is known to be well-formed.</summary>
    public static readonly JsonWriterOptions UncheckedWriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = true };
}
