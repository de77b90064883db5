from caseterm.cli import main

main()
