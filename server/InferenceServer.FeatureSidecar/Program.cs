using InferenceServer.FeatureSidecar.Cli;

return await SidecarCommandLine.RunAsync(args, Console.Out, Console.Error);
