from mindgit.cli.main import main

main()
