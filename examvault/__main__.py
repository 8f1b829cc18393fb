from examvault.cli import main

main()
