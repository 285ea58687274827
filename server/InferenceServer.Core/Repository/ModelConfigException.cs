namespace InferenceServer.Core.Repository;

/// <summary>
/// A <c>config.pbtxt</c> that cannot be used: a syntax error, a wrongly typed value or a failed
/// validation. The message reads <c>file:line:column: field.path: reason</c>.
/// </summary>
public sealed class ModelConfigException : Exception
{
    /// <summary>Creates the exception; <paramref name="fieldPath"/> is null for syntax errors.</summary>
    public ModelConfigException(string fileName, int line, int column, string? fieldPath, string reason, Exception? innerException = null)
        : base(FormatMessage(fileName, line, column, fieldPath, reason), innerException)
    {
        FileName = fileName;
        Line = line;
        Column = column;
        FieldPath = fieldPath;
        Reason = reason;
    }

    /// <summary>The file name as given to the reader.</summary>
    public string FileName { get; }

    /// <summary>1-based line of the offending text.</summary>
    public int Line { get; }

    /// <summary>1-based column of the offending text.</summary>
    public int Column { get; }

    /// <summary>The field, e.g. <c>input[1].data_type</c>; null for syntax errors.</summary>
    public string? FieldPath { get; }

    /// <summary>What is wrong, without the location prefix.</summary>
    public string Reason { get; }

    private static string FormatMessage(string fileName, int line, int column, string? fieldPath, string reason) =>
        fieldPath is null
            ? $"{fileName}:{line}:{column}: {reason}"
            : $"{fileName}:{line}:{column}: {fieldPath}: {reason}";
}
