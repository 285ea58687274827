namespace InferenceServer.FunctionalTests.Grpc;

/// <summary>How one Python gRPC case went: the failure is its traceback and the status details the server sent.</summary>
internal sealed record GrpcCaseResult(string Name, bool Passed, string? Failure, double Seconds);
