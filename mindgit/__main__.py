from mindgit.cli.entry import main

main()
