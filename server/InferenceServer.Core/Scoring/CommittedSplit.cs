namespace InferenceServer.Core.Scoring;

/// <summary>One split the manifest records as done: which input it was, what it gave, and its part file.</summary>
/// <param name="Index">The split's index across the whole input.</param>
/// <param name="File">The input file.</param>
/// <param name="IndexInFile">The row group or byte range in the file.</param>
/// <param name="FileSize">The file's size when it was read.</param>
/// <param name="FileModified">The file's last write time (UTC ticks) when it was read.</param>
/// <param name="Rows">Rows written to the part.</param>
/// <param name="BadRows">Rows quarantined.</param>
/// <param name="Part">The part file's name in the output folder.</param>
/// <param name="PartBytes">The part file's size.</param>
/// <param name="Checksum">XxHash64 of the part file, 16 hex digits.</param>
public sealed record CommittedSplit(int Index, string File, int IndexInFile, long FileSize, long FileModified, long Rows, long BadRows, string Part,
    long PartBytes, string Checksum);
