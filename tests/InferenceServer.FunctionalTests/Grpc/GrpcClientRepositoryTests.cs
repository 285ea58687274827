namespace InferenceServer.FunctionalTests.Grpc;

/// <summary>
/// A server in explicit model control mode, driven by the independent Python client through RepositoryModelLoad and
/// RepositoryModelUnload: load, serve, unload; a config override with an uploaded model file; uploads whose path
/// escapes the model folder; parameters of the wrong kind; an unknown model; a bad config that leaves what serves.
/// Cases: suite "repository" of Grpc/python/grpc_cases.py.
/// </summary>
public sealed class GrpcClientRepositoryTests(GrpcClientRepositoryTests.Suite suite) : IClassFixture<GrpcClientRepositoryTests.Suite>
{
    private static readonly string[] Names =
    [
        "repository_load_then_unload",
        "repository_load_with_config_and_uploaded_file",
        "repository_upload_escaping_the_model_folder_is_invalid",
        "repository_parameters_of_the_wrong_kind_are_invalid",
        "repository_load_of_an_unknown_model_is_not_found",
        "repository_load_of_a_bad_config_is_invalid_and_changes_nothing",
    ];

    public static TheoryData<string> Cases => new(Names);

    [Theory]
    [MemberData(nameof(Cases))]
    public void Case(string name) => suite.Results.AssertPassed(name);

    [Fact]
    public void EveryPythonCaseIsATestHere() => suite.Results.AssertListed(Names);

    public sealed class Suite : GrpcClientSuiteFixture
    {
        protected override string SuiteName => "repository";

        protected override (string Key, string Value)[] Settings => [("Server:ModelControlMode", "explicit")];

        private protected override void Populate(TestRepository repository) => repository.AddSample("simple");
    }
}
