namespace InferenceServer.FunctionalTests.Hardening;

/// <summary>One case that broke an oracle, with what it takes to send it again.</summary>
/// <param name="Index">The case index (-1: not one case, e.g. the valid request after a batch).</param>
/// <param name="Kind">Which oracle: 5xx, INTERNAL, hang, crash, empty error body, wrong 200, valid request after batch.</param>
/// <param name="Detail">What came back.</param>
/// <param name="Request">What the case sent (its mutation, path or headers).</param>
/// <param name="Bytes">The exact bytes sent.</param>
internal sealed record FuzzFailure(int Index, string Kind, string Detail, string Request, byte[] Bytes);
