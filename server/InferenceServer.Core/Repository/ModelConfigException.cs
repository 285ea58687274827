namespace InferenceServer.Core.Repository;

/// <summary>
/// A config that cannot be used: a syntax error, a wrongly typed value, a failed validation or a feature this server
/// does not implement. The message reads <c>file:line:column: field.path: reason</c>, followed by the unknown fields
/// that were ignored before it, if any.
/// </summary>
internal sealed class ModelConfigException : Exception
{
    /// <summary>Creates the exception; <paramref name="fieldPath"/> is null for syntax errors.</summary>
    public ModelConfigException(string fileName, int line, int column, string? fieldPath, string reason, Exception? innerException = null)
        : this(fileName, line, column, fieldPath, reason, [], innerException)
    {
    }

    private ModelConfigException(string fileName, int line, int column, string? fieldPath, string reason, IReadOnlyList<ModelConfigWarning> unknownFields,
        Exception? innerException)
        : base(ModelConfigWarning.AppendUnknownFields(FormatMessage(fileName, line, column, fieldPath, reason), unknownFields), innerException)
    {
        FileName = fileName;
        Line = line;
        Column = column;
        FieldPath = fieldPath;
        Reason = reason;
        UnknownFields = unknownFields;
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

    /// <summary>Unknown fields that were ignored before the error; the message ends with them.</summary>
    public IReadOnlyList<ModelConfigWarning> UnknownFields { get; }

    /// <summary>This error with <paramref name="unknownFields"/> noted at the end of its message.</summary>
    internal ModelConfigException WithUnknownFields(IReadOnlyList<ModelConfigWarning> unknownFields) =>
        unknownFields.Count == 0 ? this : new(FileName, Line, Column, FieldPath, Reason, unknownFields, InnerException);

    private static string FormatMessage(string fileName, int line, int column, string? fieldPath, string reason) =>
        fieldPath is null
            ? $"{ModelConfigLocation.Format(fileName, line, column)}: {reason}"
            : $"{ModelConfigLocation.Format(fileName, line, column)}: {fieldPath}: {reason}";
}
